"""The uploader as a process, configured by the executor's environment names."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams
from uploader.conftest import HOST_ID, DataDir, Heard, prune_of, publish


@pytest.fixture
def uploader_process(
    nats_url: str, data_dir: DataDir, tmp_path: Path, settings_key: bytes
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m dockback_uploader` with the env one would share with the executor."""
    env = {
        **os.environ,
        "DOCKBACK_NATS_URL": nats_url,
        "DOCKBACK_HOST_ID": HOST_ID,
        "DOCKBACK_DATA_DIR": str(data_dir.root),
        "DOCKBACK_SETTINGS_KEY_FILE": str(tmp_path / "settings.key"),
    }
    with open(tmp_path / "uploader.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "dockback_uploader"], env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def exit_code(process: subprocess.Popen[bytes], within: float) -> int:
    return await asyncio.to_thread(process.wait, within)


async def test_the_uploader_process_prunes_and_stops_cleanly_on_sigterm(
    nc: Client, heard: Heard, data_dir: DataDir, uploader_process: subprocess.Popen[bytes]
) -> None:
    old = data_dir.archive()
    request = prune_of(old)

    await publish(nc, request)  # queued in the work-queue stream even before the consumer exists
    pruned = await heard.job_end(request.job_id)
    uploader_process.send_signal(signal.SIGTERM)

    assert isinstance(pruned, ev.ArtifactsPruned)
    assert data_dir.files_of(old) == []
    assert await exit_code(uploader_process, within=15) == 0


async def test_the_uploader_waits_for_the_gateway_to_declare_the_streams(
    nats_url: str, data_dir: DataDir, uploader_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    async with asyncio.timeout(20):
        while b"does not exist yet" not in (tmp_path / "uploader.log").read_bytes():  # noqa: ASYNC110 - a file: polled
            await asyncio.sleep(0.05)
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        for config in streams.stream_configs():
            await js.add_stream(config)
        async with asyncio.timeout(20):  # its consumer appears once the stream does
            while True:
                names = [c.name for c in await js.consumers_info(streams.JOBS_STREAM)]
                if streams.uploader_prune_consumer(HOST_ID).durable in names:
                    break
                await asyncio.sleep(0.1)  # server state: polled
    finally:
        await client.close()
    assert uploader_process.poll() is None
