"""Someone who reaches `make up`'s NATS port, without credentials or with a key of their own,
publishes a BackupRequested for the host: the server refuses them and no job reaches the job
stream, from which alone an executor takes its work.

The server is the one deploy/dev/stack.py starts: `local_nats` generates the users and the config
under the stack's data dir, and nats-server runs with that config (DOCKBACK_NATS_AUTH is on by
default). Before, `make up` ran `nats-server -js` without authorization and the same publish
was stored in DOCKBACK_JOBS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import nkeys
import pytest
import pytest_asyncio
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_gateway.streams import declare_streams
from dockback_ops.nats_install import LocalNats, local_nats
from dockback_runtime.connection import NatsClientSettings, NatsCredentials, connect_options, write_credentials
from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop

HOST = "dev-box"


@dataclass
class DevStackNats:
    url: str
    port: int
    users: LocalNats

    def settings(self, service: str) -> NatsClientSettings:
        return NatsClientSettings(nats_url=self.url, nats_credentials_file=self.users.credentials[service])


@pytest_asyncio.fixture
async def dev_nats(tmp_path: Path) -> AsyncIterator[DevStackNats]:
    """nats-server as `make up` starts it, with the job stream declared by the gateway."""
    port = free_port()
    users = local_nats(tmp_path / "var" / "secrets" / "nats", HOST, port=port, jetstream_dir=tmp_path / "var" / "nats")
    process = start_and_wait(
        users.server_argv(nats_server_binary()), ready_marker="Server is ready", log_path=tmp_path / "nats.log"
    )
    server = DevStackNats(url=f"nats://127.0.0.1:{port}", port=port, users=users)
    try:
        gateway = await nats.connect(**connect_options(server.settings("gateway")), allow_reconnect=False)
        try:
            await declare_streams(gateway.jetstream())
        finally:
            await gateway.close()
        yield server
    finally:
        stop(process)


def backup_request() -> ev.BackupRequested:
    return ev.BackupRequested(
        job_id=uuid.uuid4(), host_id=HOST, resource=ev.ResourceRef(kind="volume", name="app-data")
    )


async def queued_jobs(server: DevStackNats) -> int:
    """How many requests wait in DOCKBACK_JOBS, as the gateway sees it."""
    gateway: Client = await nats.connect(**connect_options(server.settings("gateway")), allow_reconnect=False)
    try:
        info = await gateway.jetstream().stream_info(streams.JOBS_STREAM)
        return int(info.state.messages)
    finally:
        await gateway.close()


async def publish_raw(port: int, connect: dict[str, object], request: ev.BackupRequested) -> str:
    """CONNECT and PUB in one write, as a client that does not wait to be asked; the server's answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        info = json.loads((await reader.readline()).removeprefix(b"INFO "))
        assert info["auth_required"] is True
        payload = request.model_dump_json().encode()
        writer.write(
            b"CONNECT " + json.dumps(connect).encode() + b"\r\n"
            + f"PUB {subjects.subject_for(request)} {len(payload)}\r\n".encode() + payload + b"\r\n"
            + b"PING\r\n"
        )  # fmt: skip
        await writer.drain()
        answer = b""
        async with asyncio.timeout(10):
            with contextlib.suppress(ConnectionResetError):  # the server closes the connection
                while line := await reader.readline():
                    answer += line
        return answer.decode(errors="replace")
    finally:
        writer.close()


async def test_a_client_without_credentials_cannot_connect_nor_queue_a_backup(dev_nats: DevStackNats) -> None:
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        await nats.connect(dev_nats.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5)

    answer = await publish_raw(dev_nats.port, {"verbose": False, "pedantic": False}, backup_request())

    assert "Authorization Violation" in answer
    assert "PONG" not in answer
    assert await queued_jobs(dev_nats) == 0


async def test_a_client_with_a_key_the_server_does_not_know_is_refused(dev_nats: DevStackNats, tmp_path: Path) -> None:
    forged = tmp_path / "forged.creds"
    unknown_seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()
    write_credentials(forged, NatsCredentials(role=f"executor-{HOST}", seed=unknown_seed))
    settings = NatsClientSettings(nats_url=dev_nats.url, nats_credentials_file=forged)

    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        await nats.connect(**connect_options(settings), allow_reconnect=False, max_reconnect_attempts=0)

    assert await queued_jobs(dev_nats) == 0


def test_the_credentials_are_readable_by_their_owner_only(dev_nats: DevStackNats) -> None:
    store = dev_nats.users.config.parent
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    for creds in dev_nats.users.credentials.values():
        assert creds.is_relative_to(store)
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600


async def test_the_scheduler_with_its_own_credentials_queues_the_same_request(dev_nats: DevStackNats) -> None:
    """The control: the refusals above are authorization, not a stream that takes nothing."""
    request = backup_request()
    scheduler = await nats.connect(**connect_options(dev_nats.settings("scheduler")), allow_reconnect=False)
    try:
        await scheduler.jetstream().publish(
            subjects.subject_for(request),
            request.model_dump_json().encode(),
            stream=streams.JOBS_STREAM,
            headers={"Nats-Msg-Id": subjects.message_id(request)},
        )
    finally:
        await scheduler.close()

    assert await queued_jobs(dev_nats) == 1
