"""A download from a snapshot that the host cuts short, through the real gateway process (uvicorn)
and real NATS, the host's side played by this test: neither a tar nor a single file may reach the
client as complete. A tar is sent chunked: its last chunk must not come; a file has its length:
fewer bytes must not end cleanly. And a host that needs time before the next chunk (it answers
`W`) is asked again, the download completing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
import pytest_asyncio
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import create_async_engine

from dockback_contracts import subjects
from dockback_contracts.control import SnapshotDownloadOpen, SnapshotDownloadOpened, SnapshotDownloadRead
from dockback_gateway.catalog.models import Artifact
from harness.gateway_process import GatewayProcess, run_gateway

HOST = "download-host"
INSTANCE = "0123456789ab"


@pytest.fixture
def gateway_process(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    with run_gateway(database_url, nats_url, tmp_path) as process:
        yield process


async def snapshot_artifact(database_url: str) -> uuid.UUID:
    artifact_id = uuid.uuid4()
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                Artifact.__table__.insert().values(
                    id=artifact_id,
                    job_id=uuid.uuid4(),
                    host_id=HOST,
                    plan_id=None,
                    resource_kind="volume",
                    resource_name="appdata",
                    role="appdata",
                    path="repositories/plan-x",
                    manifest_path="",
                    size_bytes=1,
                    raw_bytes=1,
                    file_count=1,
                    sha256="",
                    compression="none",
                    manifest={},
                    created_at=datetime.now(UTC).replace(tzinfo=None),
                    state="available",
                    format="repository",
                    repository="plan-x",
                    snapshot_id="ab" * 32,
                )
            )
    finally:
        await engine.dispose()
    return artifact_id


class PlayedHost:
    """Answers the gateway's open and reads as a host's executor would, with `frames` in order."""

    def __init__(self, frames: list[bytes], *, tar: bool, size: int | None) -> None:
        self.frames = frames
        self.tar = tar
        self.size = size
        self.closed = asyncio.Event()

    async def on_open(self, msg: Msg) -> None:
        asked = SnapshotDownloadOpen.model_validate_json(msg.data)
        opened = SnapshotDownloadOpened(
            host_id=HOST,
            download_id=asked.download_id,
            reader=subjects.snapshot_download_reader(HOST, INSTANCE),
            file_name="appdata.tar" if self.tar else "one.bin",
            tar=self.tar,
            size=self.size,
        )
        await msg.respond(opened.model_dump_json().encode())

    async def on_read(self, msg: Msg) -> None:
        if SnapshotDownloadRead.model_validate_json(msg.data).close:
            self.closed.set()
            return
        await msg.respond(self.frames.pop(0) if self.frames else b"E")


@pytest_asyncio.fixture
async def played(nats_url: str) -> AsyncIterator[list[PlayedHost]]:
    """Subscribes the host that the test puts in the list (one per test)."""
    client = await nats.connect(nats_url)
    hosts: list[PlayedHost] = []

    async def on_open(msg: Msg) -> None:
        await hosts[0].on_open(msg)

    async def on_read(msg: Msg) -> None:
        await hosts[0].on_read(msg)

    await client.subscribe(subjects.snapshot_download(HOST), cb=on_open)
    await client.subscribe(subjects.snapshot_download_reader(HOST, INSTANCE), cb=on_read)
    await client.flush()
    try:
        yield hosts
    finally:
        await client.close()


@asynccontextmanager
async def admin_client(gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, headers={"Origin": gateway.url}, timeout=30) as client:
        login = await client.post("/auth/login", json={"username": "admin", "password": gateway.admin_password})
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        changed = await client.post(
            "/users/me/password",
            json={"current_password": gateway.admin_password, "new_password": "download-admin-passphrase-1"},
        )
        assert changed.status_code == 204
        yield client


async def receive(client: httpx.AsyncClient, artifact_id: uuid.UUID) -> tuple[httpx.Response, bytes]:
    received = b""
    async with client.stream("GET", f"/artifacts/{artifact_id}/download", params={"path": "/"}) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            received += chunk
    return response, received


@pytest.mark.parametrize(
    ("tar", "size", "frames"),
    [
        (True, None, [b"D" + b"t" * 1000, b"D" + b"a" * 1000, b"Prestic failed: pack 1234 is damaged"]),
        (False, 3000, [b"D" + b"f" * 1000, b"E"]),  # the host ends early: 1000 of 3000 bytes
    ],
    ids=["tar", "file"],
)
async def test_a_download_the_host_cuts_short_never_ends_as_complete(
    gateway_process: GatewayProcess,
    database_url: str,
    played: list[PlayedHost],
    tar: bool,
    size: int | None,
    frames: list[bytes],
) -> None:
    artifact_id = await snapshot_artifact(database_url)
    played.append(PlayedHost(list(frames), tar=tar, size=size))
    async with admin_client(gateway_process) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await receive(client, artifact_id)
        # the gateway goes on answering
        assert (await client.get("/health")).status_code in (200, 503)


async def test_a_host_that_needs_time_is_asked_again_and_the_download_completes(
    gateway_process: GatewayProcess, database_url: str, played: list[PlayedHost]
) -> None:
    artifact_id = await snapshot_artifact(database_url)
    played.append(PlayedHost([b"D" + b"x" * 700, b"W", b"W", b"D" + b"y" * 300, b"E"], tar=False, size=1000))
    async with admin_client(gateway_process) as client:
        response, received = await receive(client, artifact_id)
    assert received == b"x" * 700 + b"y" * 300
    assert response.headers["content-length"] == "1000"
    assert response.headers["content-disposition"].startswith('attachment; filename="one.bin"')
