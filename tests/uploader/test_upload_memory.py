"""A large archive uploads with flat memory: the uploader process holds about one part, not the file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts.snapshots import S3Target
from harness.s3_server import S3Bucket
from uploader.big_archives import SIZE, write_big_archive
from uploader.conftest import (
    HOST_ID,
    DataDir,
    Heard,
    archive_created,
    publish,
    put_settings,
    upload_end,
)

PART = 8 * 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def uploader_process(
    nats_url: str, data_dir: DataDir, tmp_path: Path, settings_key: bytes
) -> Iterator[subprocess.Popen[bytes]]:
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


async def test_a_300_mib_archive_uploads_with_flat_memory(
    nc: Client,
    heard: Heard,
    data_dir: DataDir,
    s3: S3Bucket,
    target: S3Target,
    tmp_path: Path,
    uploader_process: subprocess.Popen[bytes],
) -> None:
    await put_settings(nc, target.model_copy(update={"part_size_bytes": PART}))
    ref = await asyncio.to_thread(write_big_archive, data_dir)
    async with asyncio.timeout(20):
        while b" ready " not in (tmp_path / "uploader.log").read_bytes():  # noqa: ASYNC110 - a file: polled
            await asyncio.sleep(0.05)
    baseline = peak_rss(uploader_process.pid)
    event = archive_created(ref)

    await publish(nc, event)
    done = await upload_end(heard, event.job_id, within=90)
    growth = peak_rss(uploader_process.pid) - baseline
    print(f"uploader peak RSS: {baseline / 2**20:.0f} MiB before, grew by {growth / 2**20:.1f} MiB for 300 MiB")

    assert isinstance(done, ev.UploadCompleted)
    assert s3.head(done.key)["ContentLength"] == SIZE
    assert growth < 100 * 1024 * 1024
