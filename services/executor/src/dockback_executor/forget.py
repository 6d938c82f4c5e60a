"""Retention of snapshots: `ForgetRequested` names exactly the snapshots a plan's retention drops
from one series; this forgets those ids in the plan's repository (restic forgets nothing else, and
an id already forgotten is ignored, so a redelivered request does no harm) and announces them
pruned. Their data stays in the repository until its next `prune`, which runs after a forget once
`prune_interval` has passed since the repository's last one (a stamp file beside it): not after
every backup, since a prune reads and rewrites packs under the repository's exclusive lock."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from dockback_contracts import events as ev
from dockback_contracts.snapshots import plan_repository
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import REPOSITORIES, Repository, ResticRunner
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import JobError, PermanentError
from dockback_runtime.jobs.running import point_of_no_return

log = logging.getLogger(__name__)


class ForgetService:
    def __init__(
        self,
        restic: ResticRunner | None,
        repositories: RepositoryKeys,
        announcer: Announcer,
        host_id: str,
        prune_interval: float,
    ) -> None:
        self.restic = restic
        self.repositories = repositories
        self.announcer = announcer
        self.host_id = host_id
        self.prune_interval = prune_interval

    async def run(self, request: ev.ForgetRequested, attempt: int) -> None:
        if request.host_id != self.host_id:
            raise PermanentError(f"this executor serves host {self.host_id}, not {request.host_id}")
        if request.repository != plan_repository(str(request.plan_id)):
            # A plan's retention judges only its own repository's snapshots.
            raise PermanentError(f"repository {request.repository!r} is not plan {request.plan_id}'s")
        if self.restic is None:
            raise PermanentError("restic runs in runner containers, which cannot work on this host")
        await self.announcer.publish(
            ev.JobStarted(
                job_id=request.job_id, host_id=self.host_id, kind="prune", resource=request.resource, attempt=attempt
            )
        )
        repository = await self.repositories.repository(request.repository)
        ids = [s.snapshot_id for s in request.snapshots]
        point_of_no_return()  # forgotten is forgotten: a cancellation now would leave the catalog behind
        await self.restic.forget(repository, ids, request.job_id)
        log.info(
            "forgot %d snapshot(s) of plan %s (%s %s) in repository %s",
            len(ids),
            request.plan_id,
            request.resource.kind,
            request.resource.name,
            request.repository,
        )
        await self.announcer.publish(
            ev.ArtifactsPruned(
                job_id=request.job_id,
                host_id=self.host_id,
                plan_id=request.plan_id,
                artifact_ids=tuple(s.artifact_id for s in request.snapshots),
            )
        )
        await self._prune_if_due(repository, request)

    async def _prune_if_due(self, repository: Repository, request: ev.ForgetRequested) -> None:
        """Prune the repository when its last prune is `prune_interval` old. A prune that fails (a
        backup holds the repository's lock) is said in the log and tried at the next forget: the
        snapshots are forgotten either way."""
        assert self.restic is not None
        stamp = self.restic.data.directory / REPOSITORIES / f".{repository.name}.pruned"
        last = await asyncio.to_thread(_modified, stamp)
        if last is not None and time.time() - last < self.prune_interval:
            return
        started = time.monotonic()
        try:
            await self.restic.prune(repository, request.job_id)
        except JobError as exc:
            log.warning("repository %s was not pruned (tried again at its next forget): %s", repository.name, exc)
            return
        await asyncio.to_thread(_touch, stamp)
        log.info("pruned repository %s in %.1f s", repository.name, time.monotonic() - started)


def _modified(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _touch(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.close(fd)
    os.utime(path)
