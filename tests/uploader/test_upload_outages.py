"""An S3 server that goes away: the upload is retried through JetStream, never left half-done."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.big_archives import wait_for_an_unfinished_upload
from uploader.conftest import DataDir, Heard, archive_created, publish, upload_end, uploader_settings
from uploader.processes import archive_consumer_settled


@pytest_asyncio.fixture
async def patient_uploader(nats_url: str, nc: Client, data_dir: DataDir, tmp_path: Path) -> AsyncIterator[Uploader]:
    """An uploader whose retries span a few seconds (the outage test restarts the server meanwhile)."""
    settings = uploader_settings(nats_url, data_dir, tmp_path).model_copy(
        update={"job_retry_delays_seconds": [1.0, 1.0, 2.0, 4.0, 8.0]}
    )
    running = Uploader(settings)
    task = asyncio.create_task(running.run())
    async with asyncio.timeout(20):
        await running.ready.wait()
    try:
        yield running
    finally:
        running.stopped.set()
        await task


async def test_an_upload_cut_by_an_outage_is_retried_and_completed_leaving_no_unfinished_upload(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, patient_uploader: Uploader
) -> None:
    block = os.urandom(1024 * 1024)
    ref = data_dir.archive(data=block * 60)  # 12 parts of 5 MiB
    event = archive_created(ref)

    await publish(nc, event)
    await wait_for_an_unfinished_upload(s3)
    await asyncio.to_thread(s3.server.stop)
    await asyncio.sleep(1.5)
    assert not heard.of(ev.UploadCompleted)
    await asyncio.to_thread(s3.server.start)
    done = await upload_end(heard, event.job_id, within=60)

    assert isinstance(done, ev.UploadCompleted)
    assert s3.incomplete_uploads() == []
    body = s3.client.get_object(Bucket=s3.name, Key=done.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == ref.sha256
    assert heard.of(ev.JobFailed) == []


async def test_a_server_down_past_the_retry_budget_fails_the_job_once(
    nats_url: str, nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    event = archive_created(data_dir.archive())
    s3.server.stop()

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)
    await archive_consumer_settled(nats_url, heard_on=nc)  # every fact of every delivery heard

    assert isinstance(failed, ev.JobFailed)
    assert (failed.phase, failed.retryable) == ("upload", True)
    assert "cannot be reached" in failed.reason
    assert "gave up after 4 attempts" in failed.reason
    assert len(heard.of(ev.JobFailed)) == 1
    assert heard.of(ev.UploadCompleted) == []
