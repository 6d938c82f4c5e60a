"""Pruning remote copies (moto over real HTTP): only the request's (host, plan, resource) scope."""

from __future__ import annotations

from uuid import UUID

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts.snapshots import S3Target
from dockback_uploader.app import Uploader
from harness.s3_server import S3Bucket
from uploader.conftest import HOST_ID, PLAN_ID, TARGET_ID, DataDir, Heard, prune_of, publish

# In one bucket: a second plan whose id differs from ours in its last digit only, and a
# second host whose id starts with ours ("host-a" is a prefix of "host-ab": a scope
# check without the closing "/" would reach into its keys).
PLAN_B = UUID(str(PLAN_ID)[:-1] + "b")
OTHER_HOST = f"{HOST_ID}b"


def key_of(ref: ev.ArchiveRef, host: str = HOST_ID, plan: UUID = PLAN_ID) -> str:
    return f"backups/{host}/{plan}/volume-pgdata/{ref.path.rsplit('/', 1)[1]}"


def store(s3: S3Bucket, key: str) -> None:
    s3.client.put_object(Bucket=s3.name, Key=key, Body=b"archive")
    s3.client.put_object(Bucket=s3.name, Key=key.removesuffix(".tar.zst") + ".manifest.json", Body=b"{}")


async def test_a_prune_deletes_the_remote_copies_and_manifests_of_its_scope_only(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    pruned, kept = data_dir.archive(), data_dir.archive()
    for ref in (pruned, kept):
        store(s3, key_of(ref))
    store(s3, key_of(pruned, plan=PLAN_B))  # the same file name under the neighbour plan
    store(s3, key_of(pruned, host=OTHER_HOST))  # and under a host whose id starts like ours
    request = prune_of(pruned.model_copy(update={"remote_locations": (f"{TARGET_ID}:{key_of(pruned)}",)}))

    await publish(nc, request)
    done = await heard.job_end(request.job_id)

    assert isinstance(done, ev.ArtifactsPruned)
    remaining = s3.keys()
    assert key_of(pruned) not in remaining
    assert key_of(pruned).removesuffix(".tar.zst") + ".manifest.json" not in remaining
    assert key_of(kept) in remaining
    assert key_of(pruned, plan=PLAN_B) in remaining
    assert key_of(pruned, host=OTHER_HOST) in remaining
    assert data_dir.files_of(pruned) == []


async def test_a_remote_copy_already_gone_counts_as_deleted(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ref = data_dir.archive()
    request = prune_of(ref.model_copy(update={"remote_locations": (f"{TARGET_ID}:{key_of(ref)}",)}))

    await publish(nc, request)

    assert isinstance(await heard.job_end(request.job_id), ev.ArtifactsPruned)


async def test_a_remote_key_of_another_plan_or_host_is_refused_and_nothing_is_deleted(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    ours, theirs = data_dir.archive(), data_dir.archive()
    for key in (key_of(ours), key_of(theirs, plan=PLAN_B), key_of(theirs, host=OTHER_HOST)):
        store(s3, key)
    request = prune_of(
        ours.model_copy(update={"remote_locations": (f"{TARGET_ID}:{key_of(ours)}",)}),
        theirs.model_copy(
            update={
                "remote_locations": (
                    f"{TARGET_ID}:{key_of(theirs, plan=PLAN_B)}",
                    f"{TARGET_ID}:{key_of(theirs, host=OTHER_HOST)}",
                )
            }
        ),
    )

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert failed.retryable is False
    assert "outside" in failed.reason
    assert len(s3.keys()) == 6
    assert len(data_dir.files_of(ours)) == 2


async def test_a_remote_key_of_another_artifact_of_the_same_scope_is_refused_and_nothing_is_deleted(
    nc: Client, heard: Heard, data_dir: DataDir, s3: S3Bucket, target: S3Target, uploader: Uploader
) -> None:
    # The old artifact's location names the newest artifact's object: in scope, but not its copy.
    old, newest = data_dir.archive(), data_dir.archive()
    for ref in (old, newest):
        store(s3, key_of(ref))
    request = prune_of(old.model_copy(update={"remote_locations": (f"{TARGET_ID}:{key_of(newest)}",)}))

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert failed.retryable is False
    assert len(s3.keys()) == 4
    assert len(data_dir.files_of(old)) == 2
