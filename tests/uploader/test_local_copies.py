"""The plan's local-copies policy: local archives go only once their remote copies are verified."""

from __future__ import annotations

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.snapshots import LocalCopies, S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.conftest import DataDir, Heard, archive_created, publish, put_plan, upload_end
from uploader.processes import archive_consumer_settled


async def test_keep_none_removes_the_uploaded_archive_but_not_one_never_uploaded(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    await put_plan(nc, LocalCopies(keep="none"))
    never_uploaded = data_dir.archive(started="20261124T101500Z")
    ref = data_dir.archive()
    event = archive_created(ref)

    await publish(nc, event)
    assert isinstance(await upload_end(heard, event.job_id), ev.UploadCompleted)
    (removed,) = await heard.wait_for(ev.LocalCopiesRemoved)

    assert removed.artifact_ids == (ref.artifact_id,)
    assert removed.job_id == event.job_id
    assert data_dir.files_of(ref) == []
    assert len(data_dir.files_of(never_uploaded)) == 2


async def test_keep_last_keeps_the_newest_archives_of_the_series(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    await put_plan(nc, LocalCopies(keep="last", last=1))
    refs = [data_dir.archive(started=f"2026112{day}T101500Z") for day in (1, 2, 3)]

    for ref in refs:
        event = archive_created(ref)
        await publish(nc, event)
        assert isinstance(await upload_end(heard, event.job_id), ev.UploadCompleted)
    removed = await heard.wait_for(ev.LocalCopiesRemoved, count=2)

    assert [r.artifact_ids for r in removed] == [(refs[0].artifact_id,), (refs[1].artifact_id,)]
    assert data_dir.files_of(refs[0]) == data_dir.files_of(refs[1]) == []
    assert len(data_dir.files_of(refs[2])) == 2


async def test_keep_all_is_the_default_without_a_plan_snapshot(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    event = archive_created(ref)

    await publish(nc, event)
    assert isinstance(await upload_end(heard, event.job_id), ev.UploadCompleted)

    assert heard.of(ev.LocalCopiesRemoved) == []
    assert len(data_dir.files_of(ref)) == 2


async def test_a_job_delivered_again_after_its_local_copy_went_completes_without_it(
    nats_url: str, nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    await put_plan(nc, LocalCopies(keep="none"))
    event = archive_created(data_dir.archive())
    await publish(nc, event)
    await heard.wait_for(ev.LocalCopiesRemoved)

    await publish(nc, event, message_id="delivered-again")
    await archive_consumer_settled(nats_url, heard_on=nc)  # every fact of every delivery heard

    assert heard.of(ev.JobFailed) == []
    # announced again, with the same Nats-Msg-Id: stored once
    first, again = await heard.wait_for(ev.UploadCompleted, 2)
    assert subjects.message_id(first) == subjects.message_id(again)
    assert again.key == first.key
