"""`CheckTarget` over core NATS, asked of one host's uploader with the target in the request (its
keys sealed to that uploader): is the target reachable with its credentials, does its bucket exist?"""

from __future__ import annotations

import nats.errors
import pytest
from nats.aio.client import Client

from dockback_contracts import sealed, subjects
from dockback_contracts.control import CheckResult, CheckTarget
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, host_key, s3_target


async def check(nc: Client, target: S3Target, settings_key: bytes, host_id: str = HOST_ID) -> CheckResult:
    """Ask `host_id`'s uploaders, as the gateway does, with the target sealed to the test host's key."""
    request = CheckTarget(target=target, recipient=sealed.public_key_text(host_key(settings_key)))
    reply = await nc.request(subjects.check_target(host_id), request.model_dump_json().encode(), 10)
    return CheckResult.model_validate_json(reply.data)


async def test_a_reachable_target_with_its_bucket_checks_ok_without_being_in_the_hosts_settings(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    # no settings snapshot was published for this host: the check brings its target
    result = await check(nc, s3_target(s3, settings_key), settings_key)

    assert result.ok is True, result.detail
    assert s3.name in result.detail
    assert result.answered_by == f"uploader on host {HOST_ID}"


async def test_refused_credentials_are_reported_without_the_secret(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    result = await check(nc, s3_target(s3, settings_key, secret_key="wrong-secret-value"), settings_key)

    assert result.ok is False
    assert "refused the credentials" in result.detail
    assert "wrong-secret-value" not in result.detail
    assert s3.secret_key not in result.detail


async def test_keys_sealed_to_another_key_are_refused_saying_so(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    other = sealed.derive_private_key(b"another host's credentials seed", "uploader-other").public_key()
    target = s3_target(s3, other)
    request = CheckTarget(target=target, recipient=sealed.public_key_text(other))

    reply = await nc.request(subjects.check_target(HOST_ID), request.model_dump_json().encode(), 10)
    result = CheckResult.model_validate_json(reply.data)

    assert result.ok is False
    assert "sealed to another key than this uploader's" in result.detail
    assert s3.secret_key not in result.detail


async def test_a_check_asked_of_another_host_is_not_answered_by_this_one(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    with pytest.raises(nats.errors.NoRespondersError):
        await check(nc, s3_target(s3, settings_key), settings_key, host_id="some-other-host")


async def test_an_endpoint_written_as_a_url_is_reported(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    target = s3_target(s3, settings_key).model_copy(update={"endpoint": f"http://{s3.endpoint}"})

    result = await check(nc, target, settings_key)

    assert result.ok is False
    assert "endpoint" in result.detail
    assert s3.secret_key not in result.detail


async def test_a_bucket_name_s3_does_not_allow_is_reported(
    nc: Client, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    result = await check(nc, s3_target(s3, settings_key, bucket="bucket..name"), settings_key)

    assert result.ok is False
    assert "bucket..name" in result.detail
