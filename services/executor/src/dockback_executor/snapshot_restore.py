"""Restoring a volume's snapshot into a new volume (`SnapshotRestoreRequested`): all of it, or
chosen paths. The volume is created here (with the storage the person chose, else plain local,
labelled with the snapshot it came from) and restic writes into it alone; a restore that fails
removes it again. The volume carries the job's id (`RESTORE_JOB_LABEL`): the same job delivered
again (its executor stopped before saying it ended) replaces the volume its first attempt made
(restic does not write over the links and FIFOs it wrote before) instead of refusing it as
existing. A snapshot
holding setuid or setgid files is restored only when its plan lets
restores write them (an admin's choice): restic cannot leave the bits out, so it is refused,
naming them, before anything is written."""

from __future__ import annotations

import logging

from dockback_contracts import events as ev
from dockback_contracts.storage import VolumeStorage
from dockback_executor.docker_api import DockerEngine, finish_even_if_cancelled
from dockback_executor.errors import RestoreRefused
from dockback_executor.locks import ResourceLocks
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import ResticRunner
from dockback_executor.restore import RESTORED_FROM_LABEL
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import JobError, PermanentError
from dockback_runtime.jobs.running import enter_phase, point_of_no_return

log = logging.getLogger(__name__)

RESTORE_JOB_LABEL = "dockback.restore-job"


class SnapshotRestoreService:
    def __init__(
        self,
        engine: DockerEngine,
        restic: ResticRunner | None,
        repositories: RepositoryKeys,
        locks: ResourceLocks,
        announcer: Announcer,
        host_id: str,
    ) -> None:
        self.engine = engine
        self.restic = restic
        self.repositories = repositories
        self.locks = locks
        self.announcer = announcer
        self.host_id = host_id

    async def run(self, request: ev.SnapshotRestoreRequested, attempt: int) -> ev.RestoreCompleted:
        if request.host_id != self.host_id:
            raise PermanentError(f"this executor serves host {self.host_id}, not {request.host_id}")
        if self.restic is None:
            raise PermanentError("restic runs in runner containers, which cannot work on this host")
        target = request.target
        await self.announcer.publish(
            ev.JobStarted(
                job_id=request.job_id,
                host_id=self.host_id,
                kind="restore",
                resource=ev.ResourceRef(kind="volume", name=target.name),
                attempt=attempt,
            )
        )
        snapshot = request.snapshot
        repository = await self.repositories.repository(snapshot.repository)
        async with self.locks.hold([f"volume:{target.name}"]):
            enter_phase("verify")
            made_by = await self._made_by(target.name)
            again = made_by == str(request.job_id)  # this job's earlier attempt made it
            if made_by is not None and not again:
                raise RestoreRefused(
                    f"volume {target.name!r} already exists; a snapshot is restored into a new volume. Nothing "
                    "was changed"
                )
            if not request.restore_special_bits:
                special = await self.restic.special_files(
                    repository, snapshot.snapshot_id, request.volume, request.paths, request.job_id
                )
                if special:
                    shown = ", ".join(special[:5]) + (f" and {len(special) - 5} more" if len(special) > 5 else "")
                    raise RestoreRefused(
                        f"the snapshot holds setuid or setgid files ({shown}), which this plan's restores may not "
                        "write (an admin allows it in the plan); choose paths without them. Nothing was changed"
                    )
            enter_phase("restore")
            storage = target.storage or VolumeStorage()
            labels = {
                **request.labels,
                RESTORED_FROM_LABEL: str(snapshot.artifact_id),  # as an archive's restore
                RESTORE_JOB_LABEL: str(request.job_id),
            }
            if again:
                log.info("volume %s was made by an earlier attempt of this restore: made again", target.name)
                try:
                    await self.engine.remove_volume(target.name)
                except JobError as exc:
                    raise RestoreRefused(
                        f"volume {target.name!r}, made by an earlier attempt of this restore, could not be removed "
                        f"to restore it afresh ({exc}); remove it and restore again"
                    ) from exc
            await self.engine.create_volume(target.name, storage.driver, dict(storage.options), labels)
            try:
                await self.restic.restore_into_volume(
                    repository, snapshot.snapshot_id, request.volume, target.name, request.job_id, request.paths
                )
                point_of_no_return()
            except BaseException:
                await finish_even_if_cancelled(self._remove_quietly(target.name))
                raise
        log.info(
            "restored snapshot %s of volume %s into new volume %s (%s)",
            snapshot.snapshot_id[:8],
            request.volume,
            target.name,
            f"{len(request.paths)} path(s)" if request.paths else "all of it",
        )
        completed = ev.RestoreCompleted(
            job_id=request.job_id,
            host_id=self.host_id,
            artifact_id=snapshot.artifact_id,
            target=ev.ResourceRef(kind="volume", name=target.name),
            replaced_existing=False,
        )
        await self.announcer.publish(completed)
        return completed

    async def _made_by(self, name: str) -> str | None:
        """None when there is no volume `name`; else the restore job that made it ("" for none)."""
        for volume in await self.engine.volumes():
            if volume.get("Name") == name:
                return str((volume.get("Labels") or {}).get(RESTORE_JOB_LABEL, ""))
        return None

    async def _remove_quietly(self, name: str) -> None:
        try:
            await self.engine.remove_volume(name)
        except JobError:
            log.warning("could not remove volume %s after its restore failed", name, exc_info=True)
