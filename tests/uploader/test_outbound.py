"""An S3 target's endpoint goes through the outbound policy at every connection: refused with
one message when it is (or resolves to) a private address and private targets are not
allowed; with the checked address, the name still signs the requests and names the bucket's
host. The S3 server is on loopback: a policy that checks like the real one but takes
127.0.0.1 as the public address of `localhost` stands in for public DNS."""

from __future__ import annotations

import pytest

from dockback_contracts.snapshots import S3Target
from dockback_runtime.jobs.errors import PermanentError
from dockback_runtime.outbound import OutboundPolicy
from dockback_uploader.s3 import S3Bucket
from dockback_uploader.targets import Credentials
from harness.s3_server import S3Bucket as StoredBucket
from uploader.conftest import s3_target


class LocalhostIsPublic(OutboundPolicy):
    def __init__(self) -> None:
        super().__init__(allow_private=False)
        self.asked: list[str] = []

    async def addresses(self, host: str, port: int, *, what: str) -> list[str]:
        self.asked.append(host)
        if host == "localhost":
            return ["127.0.0.1"]
        return await super().addresses(host, port, what=what)


def credentials(s3: StoredBucket) -> Credentials:
    return Credentials(s3.access_key, s3.secret_key)


def at(target: S3Target, endpoint: str) -> S3Target:
    return target.model_copy(update={"endpoint": endpoint})


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_private_endpoint_is_refused(s3: StoredBucket, host: str) -> None:
    port = s3.endpoint.rsplit(":", 1)[1]
    target = at(s3_target(s3, b"\0" * 32), f"{host}:{port}")
    with pytest.raises(PermanentError, match="DOCKBACK_ALLOW_PRIVATE_TARGETS=true") as refused:
        async with S3Bucket.open(target, credentials(s3), OutboundPolicy()) as bucket:
            await bucket.check()
    assert port not in str(refused.value)


async def test_a_checked_endpoint_is_reached_by_its_name(s3: StoredBucket) -> None:
    port = s3.endpoint.rsplit(":", 1)[1]
    target = at(s3_target(s3, b"\0" * 32), f"localhost:{port}")
    policy = LocalhostIsPublic()
    async with S3Bucket.open(target, credentials(s3), policy) as bucket:
        await bucket.check()  # signed for localhost:port, sent to 127.0.0.1: the server accepts it
    assert "localhost" in policy.asked
