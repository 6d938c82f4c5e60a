"""The uploader's prune handler on a real nats-server: deletes in scope, refuses the rest, repeats safely."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import TransientError
from dockback_uploader.app import Uploader
from uploader.conftest import HOST_ID, PGDATA, PLAN_ID, DataDir, Heard, prune_of, publish

OTHER_PLAN = UUID("00000000-0000-4000-8000-00000000000b")


async def test_a_prune_deletes_each_archive_and_its_manifest_and_announces_them(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    old, older = data_dir.archive(), data_dir.archive()
    kept = data_dir.archive()
    request = prune_of(old, older)

    await publish(nc, request)
    pruned = await heard.job_end(request.job_id)

    assert isinstance(pruned, ev.ArtifactsPruned)
    assert (pruned.host_id, pruned.plan_id) == (HOST_ID, PLAN_ID)
    assert set(pruned.artifact_ids) == {old.artifact_id, older.artifact_id}
    assert data_dir.files_of(old) == data_dir.files_of(older) == []
    assert len(data_dir.files_of(kept)) == 2


async def test_a_container_config_archive_is_pruned_with_its_manifest(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    web = ev.ResourceRef(kind="container", name="web")
    config = data_dir.archive(resource=web, role="config", suffix=".json")
    request = prune_of(config, resource=web)

    await publish(nc, request)

    assert isinstance(await heard.job_end(request.job_id), ev.ArtifactsPruned)
    assert data_dir.files_of(config) == []


async def test_an_archive_already_gone_counts_as_pruned(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    gone = data_dir.archive()
    for path in data_dir.files_of(gone):
        path.unlink()
    request = prune_of(gone)

    await publish(nc, request)
    pruned = await heard.job_end(request.job_id)

    assert isinstance(pruned, ev.ArtifactsPruned)
    assert pruned.artifact_ids == (gone.artifact_id,)


async def test_a_prune_interrupted_between_archive_and_manifest_finishes_when_redelivered(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    half = data_dir.archive()
    archive, manifest = data_dir.files_of(half)
    archive.unlink()  # the archive goes first; the manifest still proves the scope
    request = prune_of(half)

    await publish(nc, request)

    assert isinstance(await heard.job_end(request.job_id), ev.ArtifactsPruned)
    assert not manifest.exists()


async def test_a_prune_delivered_again_changes_nothing_and_is_announced_once(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    old = data_dir.archive()
    request = prune_of(old)
    await publish(nc, request)
    await heard.job_end(request.job_id)

    await publish(nc, request, message_id=f"{request.job_id}:again")  # past the request's dedup
    [first, second] = await heard.wait_for(ev.ArtifactsPruned, count=2)

    assert first.artifact_ids == second.artifact_ids == (old.artifact_id,)
    assert heard.of(ev.JobFailed) == []
    info = await nc.jetstream().stream_info(
        streams.EVENTS_STREAM, subjects_filter=subjects.fact(ev.ArtifactsPruned, HOST_ID)
    )
    assert info.state.subjects == {subjects.fact(ev.ArtifactsPruned, HOST_ID): 1}  # one fact: same Nats-Msg-Id


async def test_a_failed_announcement_is_retried_after_a_delay_and_the_retry_finds_the_files_gone(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[ev.Event] = []
    publish_for_real = Announcer.publish

    async def flaky(self: Announcer, event: ev.Event) -> None:
        if isinstance(event, ev.ArtifactsPruned):
            attempts.append(event)
            if len(attempts) == 1:
                raise TransientError("could not publish ArtifactsPruned: NATS is away")
        await publish_for_real(self, event)

    monkeypatch.setattr(Announcer, "publish", flaky)
    old = data_dir.archive()
    request = prune_of(old)

    await publish(nc, request)
    pruned = await heard.job_end(request.job_id)

    assert isinstance(pruned, ev.ArtifactsPruned)
    assert pruned.artifact_ids == (old.artifact_id,)
    assert len(attempts) == 2  # the message was nacked with a delay, not terminated
    assert data_dir.files_of(old) == []


@pytest.mark.parametrize("whose", ["another plan", "another host", "another resource", "another artifact"])
async def test_an_archive_whose_manifest_names_another_scope_is_refused_and_nothing_is_deleted(
    whose: str, nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    mine = data_dir.archive()
    match whose:
        case "another plan":
            foreign = data_dir.archive(plan_id=OTHER_PLAN)
        case "another host":
            foreign = data_dir.archive(host_id="host-a2")  # two hosts sharing a data dir
        case "another resource":
            foreign = data_dir.archive(resource=ev.ResourceRef(kind="volume", name="pgdata2"), role="pgdata2")
        case _:
            foreign = data_dir.archive().model_copy(update={"artifact_id": uuid4()})
    request = prune_of(mine, foreign)

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert not failed.retryable
    assert (failed.kind, failed.phase, failed.plan_id, failed.resource) == ("prune", "prune", PLAN_ID, PGDATA)
    assert str(foreign.artifact_id) in failed.reason
    assert str(mine.artifact_id) not in failed.reason
    assert len(data_dir.files_of(mine)) == len(data_dir.files_of(foreign)) == 2


async def test_a_path_that_climbs_out_of_the_data_dir_is_refused_and_the_file_kept(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader, tmp_path: Path
) -> None:
    outside = DataDir(tmp_path / "elsewhere")  # a matching archive and manifest, outside the data dir
    climbing = outside.archive()
    climbing = climbing.model_copy(update={"path": f"../elsewhere/{climbing.path}"})
    assert climbing.path.startswith("..")
    request = prune_of(climbing)

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert not failed.retryable
    assert str(climbing.artifact_id) in failed.reason
    assert len(data_dir.files_of(climbing)) == 2


async def test_a_symbolic_link_out_of_the_data_dir_is_refused_and_the_file_kept(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (data_dir.root / "volumes").mkdir()
    (data_dir.root / "volumes" / "pgdata").symlink_to(target)
    linked = data_dir.archive(directory=data_dir.root / "volumes" / "pgdata")
    request = prune_of(linked)

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert "symbolic link" in failed.reason
    assert len(list(target.iterdir())) == 2


async def test_an_archive_without_a_manifest_is_refused_and_kept(
    nc: Client, heard: Heard, data_dir: DataDir, uploader: Uploader
) -> None:
    bare = data_dir.archive()
    archive, manifest = data_dir.files_of(bare)
    manifest.unlink()
    request = prune_of(bare)

    await publish(nc, request)
    failed = await heard.job_end(request.job_id)

    assert isinstance(failed, ev.JobFailed)
    assert "no manifest" in failed.reason
    assert archive.exists()
