"""Copying archives to S3 (moto over real HTTP): upload, verify, announce; failures said plainly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.conftest import (
    HOST_ID,
    PLAN_ID,
    TARGET_ID,
    DataDir,
    Heard,
    archive_created,
    publish,
    put_settings,
    s3_target,
    upload_end,
    uploader_settings,
)
from uploader.processes import archive_consumer_settled

KEY_PREFIX = f"backups/{HOST_ID}/{PLAN_ID}/volume-pgdata/"


async def test_an_archive_is_uploaded_verified_and_announced_with_its_key(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    event = archive_created(ref)

    await publish(nc, event)
    done = await upload_end(heard, event.job_id)

    assert isinstance(done, ev.UploadCompleted)
    assert done.key == KEY_PREFIX + ref.path.rsplit("/", 1)[1]
    assert (done.target_id, done.bucket, done.sha256, done.size_bytes) == (TARGET_ID, s3.name, ref.sha256, 256)
    assert done.verified_by == "metadata"
    assert s3.head(done.key)["Metadata"]["sha256"] == ref.sha256
    manifest_key = done.key.removesuffix(".tar.zst") + ".manifest.json"
    manifest = json.loads(s3.client.get_object(Bucket=s3.name, Key=manifest_key)["Body"].read())
    assert manifest["sha256"] == ref.sha256
    assert len(data_dir.files_of(ref)) == 2  # the local copy stays (the plan keeps all by default)


async def test_a_target_asking_for_it_is_verified_by_reading_the_copy_back(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key, verify_full_read=True))
    event = archive_created(data_dir.archive(data=b"x" * 6_000_000))  # two parts of 5 MiB

    await publish(nc, event)
    done = await upload_end(heard, event.job_id)

    assert isinstance(done, ev.UploadCompleted)
    assert done.verified_by == "full-read"
    assert s3.head(done.key)["ContentLength"] == 6_000_000
    assert s3.incomplete_uploads() == []


async def test_the_archives_of_one_container_backup_get_keys_of_their_own(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    web = ev.ResourceRef(kind="container", name="web")
    job_id = data_dir.archive().artifact_id  # any uuid
    config = data_dir.archive(resource=web, role="config", suffix=".json", job_id=job_id)
    volume = data_dir.archive(resource=web, role="webdata", job_id=job_id)

    await publish(nc, archive_created(config, resource=web, role="config", job_id=job_id, last_of_job=False))
    await publish(nc, archive_created(volume, resource=web, role="webdata", job_id=job_id))
    done = await heard.wait_for(ev.UploadCompleted, count=2)

    assert len({d.key for d in done}) == 2
    assert all(d.key.startswith(f"backups/{HOST_ID}/{PLAN_ID}/container-web/") for d in done)


async def test_an_archive_without_a_plan_goes_under_adhoc(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    event = archive_created(data_dir.archive(plan_id=None), plan_id=None)

    await publish(nc, event)
    done = await upload_end(heard, event.job_id)

    assert isinstance(done, ev.UploadCompleted)
    assert done.key.startswith(f"backups/{HOST_ID}/adhoc/volume-pgdata/")


async def test_wrong_credentials_fail_the_job_at_once_with_a_reason_to_act_on(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key, secret_key="not-the-secret"))
    event = archive_created(data_dir.archive())

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert (failed.kind, failed.phase, failed.retryable) == ("backup", "upload", False)
    assert "S3 target 'offsite' refused the credentials" in failed.reason
    assert "check its access key" in failed.reason
    assert "not-the-secret" not in failed.reason
    assert s3.keys() == []


async def test_a_missing_bucket_fails_the_job_at_once(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key, bucket="no-such-bucket-here"))
    event = archive_created(data_dir.archive())

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert failed.retryable is False
    assert "bucket 'no-such-bucket-here' does not exist" in failed.reason


async def test_a_target_missing_from_the_settings_fails_the_job_naming_it(
    nc: Client, heard: Heard, data_dir: DataDir, target: S3Target, uploader: Uploader
) -> None:
    event = archive_created(data_dir.archive(), targets=("elsewhere",))

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert failed.retryable is False  # looked for again briefly (a plan's new target may be on its way), then failed
    assert "S3 target 'elsewhere' is not in this host's settings" in failed.reason


async def test_an_archive_announced_twice_is_uploaded_once_and_completed_once(
    nats_url: str, nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    event = archive_created(data_dir.archive())

    await publish(nc, event)
    await upload_end(heard, event.job_id)
    await publish(nc, event, message_id="delivered-again")  # a redelivery the dedup window did not catch
    await archive_consumer_settled(nats_url, heard_on=nc)  # every fact of every delivery heard

    # announced again, with the same Nats-Msg-Id: stored once
    first, again = await heard.wait_for(ev.UploadCompleted, 2)
    assert subjects.message_id(first) == subjects.message_id(again)
    assert again.key == first.key
    assert heard.of(ev.JobFailed) == []
    assert len(s3.keys()) == 2  # the archive and its manifest


async def test_an_archive_that_does_not_hash_to_its_manifest_is_never_marked_uploaded(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    archive, _ = data_dir.files_of(ref)
    archive.write_bytes(b"\0" * ref.size_bytes)  # damaged on disk after the manifest was written
    event = archive_created(ref)

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert failed.retryable is False
    assert "changed or is damaged on disk" in failed.reason
    assert s3.keys() == []


async def test_an_endpoint_written_as_a_url_fails_the_job_at_once(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key).model_copy(update={"endpoint": f"http://{s3.endpoint}"}))
    event = archive_created(data_dir.archive())

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert (failed.kind, failed.phase, failed.retryable) == ("backup", "upload", False)
    assert "endpoint" in failed.reason


async def test_a_bucket_name_s3_does_not_allow_fails_the_job_at_once(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, settings_key: bytes, uploader: Uploader
) -> None:
    await put_settings(nc, s3_target(s3, settings_key, bucket="bucket..name"))
    event = archive_created(data_dir.archive())

    await publish(nc, event)
    failed = await upload_end(heard, event.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert (failed.kind, failed.phase, failed.retryable) == ("backup", "upload", False)
    assert "bucket..name" in failed.reason


async def test_an_upload_left_unfinished_by_an_earlier_outage_is_aborted_at_the_next_upload(
    nats_url: str, nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, tmp_path: Path
) -> None:
    """When the server stayed down past the retry budget, the failed attempt could not abort
    its multipart upload; the host's next upload cleans up what is older than the limit."""
    left = s3.client.create_multipart_upload(Bucket=s3.name, Key=f"{KEY_PREFIX}older-job.tar.zst")
    other_host = s3.client.create_multipart_upload(Bucket=s3.name, Key="backups/another-host/x/volume-a/y.tar.zst")
    settings = uploader_settings(nats_url, data_dir, tmp_path).model_copy(update={"stale_upload_seconds": 0})
    running = Uploader(settings)
    task = asyncio.create_task(running.run())
    try:
        await asyncio.wait_for(running.ready.wait(), 20)
        event = archive_created(data_dir.archive())
        await publish(nc, event)
        assert isinstance(await upload_end(heard, event.job_id), ev.UploadCompleted)
    finally:
        running.stopped.set()
        await task
    uploads = s3.client.list_multipart_uploads(Bucket=s3.name).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [other_host["UploadId"]], "only this host's prefix is cleaned"
    assert left["UploadId"] not in {u["UploadId"] for u in uploads}
