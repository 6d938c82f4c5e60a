"""SIGTERM during an upload: past DOCKBACK_SHUTDOWN_GRACE_SECONDS the job is handed back (a nack, not a
wait for ack_wait), its multipart upload aborted, and the next uploader completes it exactly once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts.snapshots import S3Target
from harness.s3_server import S3Bucket
from uploader.big_archives import wait_for_an_unfinished_upload, write_big_archive
from uploader.conftest import DataDir, Heard, archive_created, publish, put_settings, upload_end
from uploader.processes import StartUploader, archive_consumer_settled, start_uploader, until_ready

__all__ = ["start_uploader"]  # the fixture

ACK_WAIT = "120"  # far longer than the test: a redelivery before it can only be the hand-back's nack


async def test_sigterm_mid_upload_hands_it_back_and_the_next_uploader_completes_it_once(
    nats_url: str,
    nc: Client,
    heard: Heard,
    data_dir: DataDir,
    s3: S3Bucket,
    target: S3Target,
    start_uploader: StartUploader,
    tmp_path: Path,
) -> None:
    await put_settings(nc, target.model_copy(update={"part_size_bytes": 5 * 1024 * 1024}))
    ref = await asyncio.to_thread(write_big_archive, data_dir)
    first = start_uploader(DOCKBACK_SHUTDOWN_GRACE_SECONDS="0", DOCKBACK_JOB_ACK_WAIT_SECONDS=ACK_WAIT)
    await until_ready(tmp_path / "uploader-0.log")
    event = archive_created(ref)
    await publish(nc, event)
    await wait_for_an_unfinished_upload(s3)

    first.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 30) == 0
    stopped_at = time.monotonic()
    assert heard.of(ev.UploadCompleted) == []
    assert s3.incomplete_uploads() == []  # the cancelled upload aborted its multipart upload
    assert b"handed back" in (tmp_path / "uploader-0.log").read_bytes()

    start_uploader(DOCKBACK_JOB_ACK_WAIT_SECONDS=ACK_WAIT)
    done = await upload_end(heard, event.job_id, within=90)
    assert isinstance(done, ev.UploadCompleted)
    assert time.monotonic() - stopped_at < float(ACK_WAIT)  # redelivered by the nack
    await archive_consumer_settled(nats_url)
    assert [e.job_id for e in heard.of(ev.UploadCompleted)] == [event.job_id]
    assert heard.of(ev.JobFailed) == []
    assert s3.incomplete_uploads() == []
