"""Restoring a volume's snapshot into a new volume, with real restic in runner containers: a job
delivered again after its first attempt made the volume (the executor stopped before saying the
job ended) restores into that volume and succeeds; another job into the same name is refused."""

from __future__ import annotations

import uuid

import pytest

from dockback_contracts import events as ev
from dockback_executor.errors import RestoreRefused
from dockback_executor.restic import Repository, ResticRunner
from dockback_executor.snapshot_restore import RESTORE_JOB_LABEL, SnapshotRestoreService
from executor.conftest import HOST_ID, Host, KnownRepository
from executor.volumes import create_volume, describe, docker_cli, populate


async def test_a_restore_delivered_again_restores_into_the_volume_its_first_attempt_made(
    host: Host,
    restic: ResticRunner,
    repository: Repository,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    original = await describe(busybox_image, unique_name, docker_labels)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST_ID, tags=["t"], job_id=uuid.uuid4())
    service = SnapshotRestoreService(
        host.engine,
        restic,
        KnownRepository(repository),
        host.locks,
        host.backups.announcer,
        HOST_ID,  # type: ignore[arg-type]
    )
    target = f"{unique_name}-restored"
    request = ev.SnapshotRestoreRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        snapshot=ev.SnapshotRef(artifact_id=uuid.uuid4(), repository=repository.name, snapshot_id=snapshot.snapshot_id),
        volume=unique_name,
        target=ev.RestoreTarget(kind="volume", name=target),
        requested_by="admin",
        restore_special_bits=True,
    )
    try:
        await service.run(request, 1)
        # the first attempt ended, but its executor stopped before the job's end was said: delivered again
        again = await service.run(request, 2)
        assert again.target.name == target
        assert await describe(busybox_image, target, docker_labels) == original
        [volume] = [v for v in await host.engine.volumes() if v["Name"] == target]
        assert volume["Labels"][RESTORE_JOB_LABEL] == str(request.job_id)

        another = request.model_copy(update={"job_id": uuid.uuid4()})
        with pytest.raises(RestoreRefused, match="already exists"):
            await service.run(another, 1)
        assert await describe(busybox_image, target, docker_labels) == original  # left as it was
    finally:
        await docker_cli("volume", "rm", "-f", target)
