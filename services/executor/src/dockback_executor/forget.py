"""Retention of snapshots: `ForgetRequested` names exactly the snapshots a plan's retention drops
from one series; this forgets those ids in the plan's repository (restic forgets nothing else, and
an id already forgotten is ignored, so a redelivered request does no harm) and announces them
pruned. Their data stays in the repository until its next `prune`."""

from __future__ import annotations

import logging

from dockback_contracts import events as ev
from dockback_contracts.snapshots import plan_repository
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import ResticRunner
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import PermanentError
from dockback_runtime.jobs.running import point_of_no_return

log = logging.getLogger(__name__)


class ForgetService:
    def __init__(
        self, restic: ResticRunner | None, repositories: RepositoryKeys, announcer: Announcer, host_id: str
    ) -> None:
        self.restic = restic
        self.repositories = repositories
        self.announcer = announcer
        self.host_id = host_id

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
