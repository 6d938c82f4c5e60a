"""An S3 server for the tests: moto's server mode on a free loopback port, over real HTTP.

One server per test session, with a fresh bucket per test (`s3`). moto keeps its state in
this process, so a server stopped (`S3Server.stop`) and started again (`S3Server.start`)
on the same port still has its buckets and unfinished multipart uploads: an outage, not a
new server. Authentication is on: requests must be signed with the key of the IAM user the
fixture creates (any other key, or a wrong secret, is refused as S3 refuses it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from harness.processes import free_port

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


class S3Server:
    """moto's threaded server, which can be stopped and started again on its port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self._factory: Callable[[], Any] = lambda: ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.port, verbose=False
        )
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is None:
            self._server = self._factory()
            self._server.start()

    def stop(self) -> None:
        """Stop listening: new connections are refused until `start`."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
            server._server.server_close()  # stop() leaves the socket bound: connections would hang, not fail


@dataclass(frozen=True)
class S3Bucket:
    """A bucket of its own for a test, and a boto3 client to look into it."""

    server: S3Server
    name: str
    access_key: str
    secret_key: str
    client: Any

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def incomplete_uploads(self) -> list[str]:
        return [u["Key"] for u in self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", [])]

    def head(self, key: str) -> dict[str, Any]:
        return dict(self.client.head_object(Bucket=self.name, Key=key))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """The session's S3 server, with authentication enforced."""
    from moto import settings

    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    server = S3Server()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        settings.INITIAL_NO_AUTH_ACTION_COUNT = previous


@pytest.fixture(scope="session")
def s3_credentials(s3_server: S3Server) -> tuple[str, str]:
    """An IAM user allowed everything in S3 (created in moto's backend directly)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    user = f"dockback-{uuid.uuid4().hex[:8]}"
    iam.create_user("us-east-1", user)
    iam.put_user_policy(user, "s3-all", json.dumps(POLICY))
    key = iam.create_access_key(user)
    return key.access_key_id, key.secret_access_key


@pytest.fixture
def s3(s3_server: S3Server, s3_credentials: tuple[str, str]) -> Iterator[S3Bucket]:
    """A fresh bucket on the running S3 server; the server is running again after the test."""
    s3_server.start()
    access_key, secret_key = s3_credentials
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{s3_server.endpoint}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )
    name = f"test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    try:
        yield S3Bucket(s3_server, name, access_key, secret_key, client)
    finally:
        s3_server.start()
