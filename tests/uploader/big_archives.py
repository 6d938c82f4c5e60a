"""Archives big enough to be caught mid-upload, and waiting for that moment."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime
from uuid import uuid4

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, PGDATA, PLAN_ID, DataDir

SIZE = 300 * 1024 * 1024


def write_big_archive(data_dir: DataDir) -> ev.ArchiveRef:
    """A 300 MiB archive (a random block repeated: compressibility does not matter to S3) and its manifest."""
    job_id = uuid4()
    artifact_id = ev.artifact_id_for(job_id, PGDATA, "pgdata")
    directory = data_dir.root / "volumes" / "pgdata"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"20261125T101500Z-{job_id}-pgdata"
    block = os.urandom(4 * 1024 * 1024)
    digest = hashlib.sha256()
    with open(directory / f"{stem}.tar.zst", "wb") as file:
        for _ in range(SIZE // len(block)):
            file.write(block)
            digest.update(block)
    now = datetime.now(UTC)
    manifest = ArchiveManifest(
        artifact_id=artifact_id,
        job_id=job_id,
        plan_id=PLAN_ID,
        host_id=HOST_ID,
        resource=PGDATA,
        role="pgdata",
        kind="volume",
        archive_file=f"{stem}.tar.zst",
        compression="zstd",
        sha256=digest.hexdigest(),
        size_bytes=SIZE,
        raw_bytes=SIZE,
        file_count=1,
        started_at=now,
        finished_at=now,
        engine_version="test",
    )
    (directory / f"{stem}.manifest.json").write_text(manifest.model_dump_json())
    return ev.ArchiveRef(
        artifact_id=artifact_id, path=f"volumes/pgdata/{stem}.tar.zst", sha256=digest.hexdigest(), size_bytes=SIZE
    )


async def wait_for_an_unfinished_upload(s3: S3Bucket) -> None:
    async with asyncio.timeout(20):
        while not await asyncio.to_thread(s3.incomplete_uploads):  # noqa: ASYNC110 - server state: polled
            await asyncio.sleep(0.02)
