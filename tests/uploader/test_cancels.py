"""Users cancel the uploader's jobs through the cancellations bucket, as they cancel the executor's
(the job-worker kit's JobRunner): a queued prune never deletes anything, an upload in progress stops,
aborts its multipart upload and is never run again."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.cancellations import cancel
from harness.s3_server import S3Bucket
from uploader.big_archives import wait_for_an_unfinished_upload, write_big_archive
from uploader.conftest import DataDir, Heard, archive_created, prune_of, publish
from uploader.processes import archive_consumer_settled


async def test_a_prune_cancelled_before_it_starts_deletes_nothing_and_is_never_run(
    nats_url: str, nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    request = prune_of(ref)
    await cancel(nats_url, request.job_id)

    await publish(nc, request)

    (cancelled,) = await heard.wait_for(ev.JobCancelled)
    assert (cancelled.job_id, cancelled.kind, cancelled.phase) == (request.job_id, "prune", "queued")
    assert cancelled.reason == "cancelled by alice"
    assert len(data_dir.files_of(ref)) == 2  # the archive and its manifest
    assert heard.of(ev.ArtifactsPruned) == []
    assert heard.of(ev.JobFailed) == []


async def test_an_upload_cancelled_midway_aborts_its_multipart_upload_and_is_not_run_again(
    nats_url: str,
    nc: Client,
    heard: Heard,
    data_dir: DataDir,
    s3: S3Bucket,
    target: S3Target,
    uploader: Uploader,
) -> None:
    ref = await asyncio.to_thread(write_big_archive, data_dir)
    event = archive_created(ref)
    await publish(nc, event)
    await wait_for_an_unfinished_upload(s3)

    await cancel(nats_url, event.job_id)

    (cancelled,) = await heard.wait_for(ev.JobCancelled)
    assert (cancelled.job_id, cancelled.kind, cancelled.phase) == (event.job_id, "backup", "upload")
    await archive_consumer_settled(nats_url)  # acked: it never comes back
    assert s3.incomplete_uploads() == []
    assert s3.keys() == []
    assert heard.of(ev.UploadCompleted) == []
    assert len(data_dir.files_of(ref)) == 2  # the local copy stays
