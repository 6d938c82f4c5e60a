"""A snapshot plants a setuid binary in a new volume through a restore.

A volume's snapshot holds whatever the volume held, and anyone who can write to the volume (any
process in a container that mounts it) can leave a setuid-root program there for a later restore
to bring back: root for whoever runs it in any container mounting the restored volume. restic
cannot leave the bits out as it restores, so a snapshot restore whose plan does not allow special
bits (only an admin allows them) is refused before anything is written, naming the files; chosen
paths without them are restored. Against the real engine and restic.
"""

from __future__ import annotations

import uuid

import pytest
from executor.conftest import HOST_ID, Host, KnownRepository
from executor.volumes import create_volume, docker_cli, run_in, volume_exists

from dockback_contracts import events as ev
from dockback_executor.errors import RestoreRefused
from dockback_executor.restic import Repository, ResticRunner
from dockback_executor.runner_image import ensure_runner_tools_image
from dockback_executor.runner_strategy import locate_data
from dockback_executor.snapshot_restore import SnapshotRestoreService


def restore_of(
    created_id: str, volume: str, target: str, *, paths: tuple[str, ...] = (), allowed: bool = False
) -> ev.SnapshotRestoreRequested:
    return ev.SnapshotRestoreRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        snapshot=ev.SnapshotRef(artifact_id=uuid.uuid4(), repository="plan-repository", snapshot_id=created_id),
        volume=volume,
        target=ev.RestoreTarget(kind="volume", name=target),
        paths=paths,
        requested_by="admin",
        restore_special_bits=allowed,
    )


async def test_a_snapshot_plants_a_setuid_binary(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    image = await ensure_runner_tools_image(host.engine)
    restic = ResticRunner(host.engine, image, await locate_data(host.engine, host.store.root, None, None))
    repository = Repository("plan-repository", password="a-password-of-this-test-only-3f9a")
    await create_volume(unique_name, docker_labels)
    await run_in(
        busybox_image,
        unique_name,
        "mkdir /data/bin && echo x > /data/bin/rootshell && chmod 4755 /data/bin/rootshell && echo ok > /data/plain",
        docker_labels,
    )
    snapshot = await restic.back_up_volume(
        repository, unique_name, host=HOST_ID, tags=["dockback"], job_id=uuid.uuid4()
    )
    service = SnapshotRestoreService(
        host.engine,
        restic,
        KnownRepository(repository),
        host.locks,
        host.backups.announcer,
        HOST_ID,  # type: ignore[arg-type]
    )
    refused, chosen, allowed = (f"{unique_name}-{n}" for n in ("refused", "chosen", "allowed"))
    try:
        with pytest.raises(RestoreRefused, match="setuid or setgid files \\(/bin/rootshell\\)"):
            await service.run(restore_of(snapshot.snapshot_id, unique_name, refused), 1)
        assert not await volume_exists(refused)  # nothing was written, not even the volume

        await service.run(restore_of(snapshot.snapshot_id, unique_name, chosen, paths=("/plain",)), 1)
        assert await run_in(busybox_image, chosen, "cd /data && find . | sort", {}) == b".\n./plain\n"

        await service.run(restore_of(snapshot.snapshot_id, unique_name, allowed, allowed=True), 1)  # the admin's choice
        assert await run_in(busybox_image, allowed, "stat -c %a /data/bin/rootshell", {}) == b"4755\n"
    finally:
        await docker_cli("volume", "rm", "-f", refused, chosen, allowed)
