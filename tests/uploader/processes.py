"""`python -m dockback_uploader` processes for a test, as the container runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import nats
import pytest
from nats.aio.client import Client

from dockback_contracts import streams
from uploader.conftest import HOST_ID, DataDir


class StartUploader(Protocol):
    def __call__(self, **env: str) -> subprocess.Popen[bytes]: ...


@pytest.fixture
def start_uploader(nats_url: str, data_dir: DataDir, tmp_path: Path, settings_key: bytes) -> Iterator[StartUploader]:
    """Start an uploader process (log: uploader-<n>.log); keyword arguments override its environment."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        environment = {
            **os.environ,
            "DOCKBACK_NATS_URL": nats_url,
            "DOCKBACK_HOST_ID": HOST_ID,
            "DOCKBACK_DATA_DIR": str(data_dir.root),
            "DOCKBACK_SETTINGS_KEY_FILE": str(tmp_path / "settings.key"),
            **env,
        }
        with open(tmp_path / f"uploader-{len(processes)}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dockback_uploader"], env=environment, stdout=log, stderr=log
            )
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


async def until_ready(log: Path) -> None:
    async with asyncio.timeout(20):
        while b" ready " not in await asyncio.to_thread(log.read_bytes):  # noqa: ASYNC110 - a file: polled
            await asyncio.sleep(0.05)


async def archive_consumer_settled(nats_url: str, heard_on: Client | None = None) -> None:
    """Until the uploader's archive consumer holds no message: every delivery was acked.

    With `heard_on` (the test's connection that hears the facts), also every fact the jobs
    published is delivered to it: a job publishes (and the server fans out) before it acks, and
    a round trip on that connection comes back after what the server sent it before."""
    client = await nats.connect(nats_url)
    try:
        spec = streams.uploader_archive_consumer(HOST_ID)
        async with asyncio.timeout(30):
            while True:
                info = await client.jetstream().consumer_info(spec.stream, spec.durable)
                if info.num_ack_pending == 0 and info.num_pending == 0:
                    break
                await asyncio.sleep(0.1)  # server state: polled
    finally:
        await client.close()
    if heard_on is not None:
        await heard_on.flush()
