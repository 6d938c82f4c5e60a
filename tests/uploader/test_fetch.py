"""Fetching an archive back from S3 for a restore, then handing the restore to the executor."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.catalogue import catalogued_beside
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, PLAN_ID, TARGET_ID, DataDir, Heard, publish


def fetch_of(ref: ev.ArchiveRef, key: str, catalogued: ev.CataloguedArchive) -> ev.FetchRequested:
    job_id = uuid4()
    located = ref.model_copy(update={"remote_locations": (f"{TARGET_ID}:{key}",)})
    restore = ev.RestoreRequested(
        job_id=job_id,
        host_id=HOST_ID,
        archive=located,
        target=ev.RestoreTarget(kind="volume", name="pgdata-restored"),
        requested_by="alice",
        catalogued=catalogued,
    )
    return ev.FetchRequested(job_id=job_id, host_id=HOST_ID, archive=located, restore=restore)


def catalogued_in(data_dir: DataDir, ref: ev.ArchiveRef) -> ev.CataloguedArchive:
    return catalogued_beside(data_dir.files_of(ref)[0])


def move_to_s3(data_dir: DataDir, s3: S3Bucket, ref: ev.ArchiveRef, body: bytes | None = None) -> str:
    """Put the archive and its manifest in the bucket as the uploader lays them out; delete them locally."""
    archive, manifest = data_dir.files_of(ref)
    key = f"backups/{HOST_ID}/{PLAN_ID}/volume-pgdata/{archive.name}"
    s3.client.put_object(Bucket=s3.name, Key=key, Body=archive.read_bytes() if body is None else body)
    s3.client.put_object(
        Bucket=s3.name, Key=key.removesuffix(".tar.zst") + ".manifest.json", Body=manifest.read_bytes()
    )
    archive.unlink()
    manifest.unlink()
    return key


@dataclass
class Restores:
    """The RestoreRequested handed to this host's executors."""

    requests: list[ev.RestoreRequested] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


async def restores_heard(nc: Client) -> Restores:
    heard = Restores()

    async def on_message(message: Any) -> None:
        heard.requests.append(ev.RestoreRequested.model_validate(json.loads(message.data)))
        heard.arrived.set()

    await nc.subscribe(f"{subjects.JOBS_PREFIX}.{HOST_ID}.restore", cb=on_message)
    return heard


def partial_files(data_dir: DataDir) -> list[Path]:
    return list(data_dir.root.rglob(".partial-*"))


async def job_failed(heard: Heard, job_id: object) -> ev.JobFailed:
    async with asyncio.timeout(20):
        while True:
            for event in heard.of(ev.JobFailed):
                if event.job_id == job_id:
                    return cast(ev.JobFailed, event)
            heard.arrived.clear()
            await heard.arrived.wait()


async def test_a_fetched_archive_is_verified_put_in_place_and_its_restore_handed_on(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive(data=os.urandom(6_000_000))
    catalogued = catalogued_in(data_dir, ref)
    request = fetch_of(ref, move_to_s3(data_dir, s3, ref), catalogued)
    restores = await restores_heard(nc)

    await publish(nc, request)
    async with asyncio.timeout(20):
        await restores.arrived.wait()

    assert restores.requests == [request.restore]
    # Stored for the executors' consumer too: the job's FetchRequested holds the job id as its
    # Nats-Msg-Id in the same stream, so a restore handed on under it would be dropped as a duplicate.
    stored = await nc.jetstream().get_last_msg(streams.JOBS_STREAM, subjects.request(ev.RestoreRequested, HOST_ID))
    assert ev.RestoreRequested.model_validate_json(stored.data) == request.restore
    archive, manifest = data_dir.files_of(ref)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == ref.sha256
    assert json.loads(manifest.read_text())["sha256"] == ref.sha256
    assert partial_files(data_dir) == []


async def test_a_remote_copy_that_does_not_hash_right_is_refused_and_no_restore_is_handed_on(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    catalogued = catalogued_in(data_dir, ref)
    request = fetch_of(ref, move_to_s3(data_dir, s3, ref, body=b"tampered"), catalogued)
    restores = await restores_heard(nc)

    await publish(nc, request)
    failed = await job_failed(heard, request.job_id)

    assert (failed.kind, failed.phase, failed.retryable) == ("restore", "prepare", False)
    assert "refused" in failed.reason
    assert restores.requests == []
    assert data_dir.files_of(ref) == []
    assert partial_files(data_dir) == []


async def test_a_remote_manifest_that_describes_another_archive_is_refused_and_nothing_is_handed_on(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref, other = data_dir.archive(), data_dir.archive()
    catalogued = catalogued_in(data_dir, ref)
    key = move_to_s3(data_dir, s3, ref)
    _, other_manifest = data_dir.files_of(other)
    s3.client.put_object(
        Bucket=s3.name, Key=key.removesuffix(".tar.zst") + ".manifest.json", Body=other_manifest.read_bytes()
    )
    request = fetch_of(ref, key, catalogued)
    restores = await restores_heard(nc)

    await publish(nc, request)
    failed = await job_failed(heard, request.job_id)

    assert (failed.kind, failed.phase, failed.retryable) == ("restore", "prepare", False)
    assert "manifest" in failed.reason
    assert restores.requests == []
    assert data_dir.files_of(ref) == []
    assert partial_files(data_dir) == []


async def test_a_remote_copy_that_is_gone_fails_the_fetch_at_once(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    catalogued = catalogued_in(data_dir, ref)
    key = move_to_s3(data_dir, s3, ref)
    s3.client.delete_object(Bucket=s3.name, Key=key)
    request = fetch_of(ref, key, catalogued)
    restores = await restores_heard(nc)

    await publish(nc, request)
    failed = await job_failed(heard, request.job_id)

    assert failed.retryable is False, "waiting does not bring a deleted object back"
    assert "NoSuchKey" in failed.reason
    assert restores.requests == []
