"""A plan's target selectors, resolved on the real engine when the job runs: each matched resource
backed up once, the job's last archive marked last, missing and failed resources named."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dockback_contracts import events as ev
from dockback_executor.backup import BackupService
from dockback_executor.errors import EngineUnavailable, NothingSelected
from dockback_runtime.jobs.errors import PermanentError
from executor.conftest import HOST_ID, Heard, Host, StartExecutor
from executor.volumes import create_volume, docker_cli
from harness.bus import publish

PLAN = uuid.uuid4()


def plan_backup(*targets: dict[str, Any], **options: object) -> ev.BackupRequested:
    return ev.BackupRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        plan_id=PLAN,
        targets=tuple(ev.TargetSelector.model_validate(t) for t in targets),
        options=ev.BackupOptions.model_validate(options),
    )


async def labelled_volumes(prefix: str, labels: dict[str, str], extra: dict[str, str]) -> list[str]:
    """Two volumes carrying `extra` and one without it; returns the two."""
    chosen = [f"{prefix}-a", f"{prefix}-b"]
    for name in chosen:
        await create_volume(name, {**labels, **extra})
    await create_volume(f"{prefix}-unlabelled", labels)
    return chosen


async def test_a_label_selector_backs_up_every_labelled_volume_and_marks_only_the_last_archive(
    host: Host, docker_labels: dict[str, str], unique_name: str
) -> None:
    chosen = await labelled_volumes(unique_name, docker_labels, {"backup": unique_name})
    request = plan_backup({"kind": "volume", "label_selector": {"backup": unique_name}})

    manifests = await host.backups.run(request, attempt=1)

    created = await host.heard.wait_for(ev.ArchiveCreated, 2)
    assert [c.resource.name for c in created] == chosen
    assert [c.last_of_job for c in created] == [False, True]
    assert len({c.archive.artifact_id for c in created}) == 2
    assert [m.resource.name for m in manifests] == chosen
    [started] = await host.heard.wait_for(ev.JobStarted)
    assert started.resource is None


async def test_a_compose_project_selector_backs_up_the_projects_volumes_only(
    host: Host, docker_labels: dict[str, str], unique_name: str
) -> None:
    chosen = await labelled_volumes(unique_name, docker_labels, {"com.docker.compose.project": unique_name})
    await create_volume(f"{unique_name}-other", {**docker_labels, "com.docker.compose.project": f"{unique_name}-x"})

    await host.backups.run(plan_backup({"kind": "volume", "compose_project": unique_name}), attempt=1)

    created = await host.heard.wait_for(ev.ArchiveCreated, 2)
    assert sorted(c.resource.name for c in created) == chosen
    assert [c.last_of_job for c in created] == [False, True]
    assert created[0].archive.artifact_id != created[1].archive.artifact_id


async def test_a_resource_selected_twice_is_backed_up_once(
    host: Host, docker_labels: dict[str, str], unique_name: str
) -> None:
    chosen = await labelled_volumes(unique_name, docker_labels, {"backup": unique_name})
    request = plan_backup(
        {"kind": "volume", "names": [chosen[1]]}, {"kind": "volume", "label_selector": {"backup": unique_name}}
    )

    await host.backups.run(request, attempt=1)

    assert [c.resource.name for c in await host.heard.wait_for(ev.ArchiveCreated, 2)] == [chosen[1], chosen[0]]


async def test_two_containers_of_one_job_get_their_own_config_archives(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    for suffix in ("web", "db"):
        await docker_cli(
            "create",
            "--name",
            f"{unique_name}-{suffix}",
            *[f"--label={k}={v}" for k, v in {**docker_labels, "backup": unique_name}.items()],
            busybox_image,
            "sleep",
            "3600",
        )

    await host.backups.run(plan_backup({"kind": "container", "label_selector": {"backup": unique_name}}), attempt=1)

    created = await host.heard.wait_for(ev.ArchiveCreated, 2)
    assert sorted((c.resource.name, c.role) for c in created) == [
        (f"{unique_name}-db", "config"),
        (f"{unique_name}-web", "config"),
    ]
    assert len({c.archive.artifact_id for c in created}) == 2
    assert [c.last_of_job for c in created] == [False, True]


async def test_named_resources_that_are_missing_fail_the_job_after_the_others_are_announced(
    host: Host, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    request = plan_backup({"kind": "volume", "names": [f"{unique_name}-gone", unique_name]})

    with pytest.raises(PermanentError, match=f"volume '{unique_name}-gone' does not exist on host {HOST_ID}"):
        await host.backups.run(request, attempt=1)

    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    assert created.resource.name == unique_name
    assert created.last_of_job


async def test_selectors_that_match_nothing_say_which_and_where(host: Host, unique_name: str) -> None:
    request = plan_backup({"kind": "volume", "label_selector": {"backup": unique_name}})

    with pytest.raises(NothingSelected) as failure:
        await host.backups.run(request, attempt=1)

    assert str(failure.value) == (
        f"plan {PLAN}'s targets match no volume on host {HOST_ID}: label backup={unique_name}"
    )
    assert host.heard.of(ev.ArchiveCreated) == []


async def test_one_failing_resource_does_not_stop_the_others_and_is_named(
    host: Host, docker_labels: dict[str, str], unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = await labelled_volumes(unique_name, docker_labels, {"backup": unique_name})
    real_archive = BackupService._archive

    async def failing_for_the_first(self: BackupService, request: Any, resource: ev.ResourceRef, part: Any) -> Any:
        if resource.name == chosen[0]:
            raise PermanentError("the disk said no")
        return await real_archive(self, request, resource, part)

    monkeypatch.setattr(BackupService, "_archive", failing_for_the_first)

    with pytest.raises(PermanentError, match=f"volume '{chosen[0]}' failed: the disk said no"):
        await host.backups.run(plan_backup({"kind": "volume", "label_selector": {"backup": unique_name}}), attempt=1)

    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    assert created.resource.name == chosen[1]
    assert created.last_of_job


async def test_an_attempt_cut_short_is_resumed_without_redoing_the_archives_already_made(
    host: Host, docker_labels: dict[str, str], unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = await labelled_volumes(unique_name, docker_labels, {"backup": unique_name})
    request = plan_backup({"kind": "volume", "label_selector": {"backup": unique_name}})
    real_archive = BackupService._archive
    made: list[str] = []

    async def counting(self: BackupService, request: Any, resource: ev.ResourceRef, part: Any) -> Any:
        made.append(resource.name)
        if resource.name == chosen[1] and made.count(chosen[1]) == 1:
            raise EngineUnavailable("the engine went away")
        return await real_archive(self, request, resource, part)

    monkeypatch.setattr(BackupService, "_archive", counting)

    with pytest.raises(EngineUnavailable):
        await host.backups.run(request, attempt=1)
    assert host.heard.of(ev.ArchiveCreated) == []  # held back: the retry announces it, and the last one last
    await host.backups.run(request, attempt=2)

    assert made == [chosen[0], chosen[1], chosen[1]]
    created = await host.heard.wait_for(ev.ArchiveCreated, 2)
    assert [(c.resource.name, c.last_of_job) for c in created] == [(chosen[0], False), (chosen[1], True)]
    assert len(list(host.store.root.rglob("*.tar.zst"))) == 2


async def test_through_the_executor_a_missing_named_volume_ends_in_one_job_failed_naming_it(
    nats_url: str, heard: Heard, start_executor: StartExecutor, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    start_executor()
    request = plan_backup({"kind": "volume", "names": [unique_name, f"{unique_name}-gone"]})
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed)

    [created] = await heard.wait_for(ev.ArchiveCreated)
    assert created.resource.name == unique_name
    assert created.last_of_job
    assert heard.events.index(created) < heard.events.index(failed)
    assert failed.job_id == request.job_id
    assert not failed.retryable
    assert f"volume '{unique_name}-gone' does not exist" in failed.reason
    assert failed.plan_id == PLAN


async def test_through_the_executor_selectors_matching_nothing_end_in_job_failed(
    nats_url: str, heard: Heard, start_executor: StartExecutor, unique_name: str
) -> None:
    start_executor()
    request = plan_backup({"kind": "volume", "label_selector": {"backup": unique_name}})
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed)

    assert not failed.retryable
    assert failed.reason == f"plan {PLAN}'s targets match no volume on host {HOST_ID}: label backup={unique_name}"
    assert heard.of(ev.ArchiveCreated) == []
