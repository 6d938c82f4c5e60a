"""A person deletes one artifact (`DeleteRequested`), on a real nats-server and moto S3 over HTTP:
the uploader removes the local archive, its manifest and every remote copy of THAT artifact,
whatever its plan (an ad-hoc backup's too), and refuses any file it cannot prove is that artifact."""

from __future__ import annotations

from uuid import UUID, uuid4

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, PGDATA, PLAN_ID, TARGET_ID, DataDir, Heard, publish


def key_of(ref: ev.ArchiveRef, plan: UUID | None = None) -> str:
    return f"backups/{HOST_ID}/{plan or 'adhoc'}/volume-pgdata/{ref.path.rsplit('/', 1)[1]}"


def manifest_of(key: str) -> str:
    return key.removesuffix(".tar.zst") + ".manifest.json"


def store(
    s3: S3Bucket, data_dir: DataDir, ref: ev.ArchiveRef, key: str, manifest_from: ev.ArchiveRef | None = None
) -> None:
    """The copy the uploader made: the archive object and, beside it, the archive's own manifest."""
    archive, manifest = data_dir.files_of(manifest_from or ref)
    s3.client.put_object(Bucket=s3.name, Key=key, Body=archive.read_bytes())
    s3.client.put_object(Bucket=s3.name, Key=manifest_of(key), Body=manifest.read_bytes())


def deletion_of(ref: ev.ArchiveRef, *, plan_id: UUID | None = None, keys: tuple[str, ...] = ()) -> ev.DeleteRequested:
    return ev.DeleteRequested(
        job_id=uuid4(),
        host_id=HOST_ID,
        plan_id=plan_id,
        resource=PGDATA,
        archive=ref.model_copy(update={"remote_locations": tuple(f"{TARGET_ID}:{k}" for k in keys)}),
        requested_by="olga",
    )


async def test_an_ad_hoc_artifact_is_deleted_locally_and_remotely_and_announced(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    doomed, neighbour = data_dir.archive(plan_id=None), data_dir.archive(plan_id=None)
    for ref in (doomed, neighbour):
        store(s3, data_dir, ref, key_of(ref))
    request = deletion_of(doomed, keys=(key_of(doomed),))

    await publish(nc, request)
    done = await heard.job_end(request.job_id)

    assert isinstance(done, ev.ArtifactsPruned), done
    assert (done.host_id, done.plan_id, done.artifact_ids) == (HOST_ID, None, (doomed.artifact_id,))
    assert data_dir.files_of(doomed) == []
    assert set(s3.keys()) == {key_of(neighbour), manifest_of(key_of(neighbour))}
    assert len(data_dir.files_of(neighbour)) == 2


async def test_an_artifact_of_a_plan_is_deleted_under_its_plan(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    store(s3, data_dir, ref, key_of(ref, PLAN_ID))
    request = deletion_of(ref, plan_id=PLAN_ID, keys=(key_of(ref, PLAN_ID),))

    await publish(nc, request)
    done = await heard.job_end(request.job_id)

    assert isinstance(done, ev.ArtifactsPruned), done
    assert done.plan_id == PLAN_ID
    assert data_dir.files_of(ref) == []
    assert s3.keys() == []


async def test_a_local_file_that_is_another_artifact_is_refused_and_nothing_is_deleted(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ours, theirs = data_dir.archive(plan_id=None), data_dir.archive(plan_id=None)
    store(s3, data_dir, ours, key_of(ours))
    # The request names our artifact but the path of another one.
    request = deletion_of(ours.model_copy(update={"path": theirs.path}), keys=(key_of(ours),))

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed), failed
    assert failed.retryable is False
    assert f"artifact {theirs.artifact_id}" in failed.reason
    assert "deleted nothing" in failed.reason
    assert len(data_dir.files_of(ours)) == len(data_dir.files_of(theirs)) == 2
    assert len(s3.keys()) == 2


async def test_a_remote_copy_whose_manifest_names_another_artifact_is_refused_and_nothing_is_deleted(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ours, theirs = data_dir.archive(plan_id=None), data_dir.archive(plan_id=None)
    # Under our archive's key (in scope, with our file name) sits an object described as another artifact.
    store(s3, data_dir, ours, key_of(ours), manifest_from=theirs)
    request = deletion_of(ours, keys=(key_of(ours),))

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed), failed
    assert failed.retryable is False
    assert f"names artifact {theirs.artifact_id}" in failed.reason
    assert len(s3.keys()) == 2
    assert len(data_dir.files_of(ours)) == 2


async def test_a_deletion_naming_no_plan_cannot_reach_an_archive_of_a_plan(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    planned = data_dir.archive()
    request = deletion_of(planned)  # plan None: the manifest says PLAN_ID

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed), failed
    assert f"plan {PLAN_ID}" in failed.reason
    assert len(data_dir.files_of(planned)) == 2


async def test_a_deletion_delivered_again_finds_the_artifact_gone_and_succeeds(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive(plan_id=None)
    store(s3, data_dir, ref, key_of(ref))
    first = deletion_of(ref, keys=(key_of(ref),))
    await publish(nc, first)
    assert isinstance(await heard.job_end(first.job_id), ev.ArtifactsPruned)

    again = first.model_copy(update={"job_id": uuid4()})  # the reconciler's republished request
    await publish(nc, again)
    done = await heard.job_end(again.job_id)

    assert isinstance(done, ev.ArtifactsPruned), done
    assert done.artifact_ids == (ref.artifact_id,)
