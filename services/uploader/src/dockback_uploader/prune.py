"""Pruning this host's copies of artifacts the gateway's retention let go, and deleting the one
artifact a person chose (`DeleteRequested`: the same work, with the artifact itself as its scope).

All or nothing: every archive of a request is located and proven to belong to the
request's (host, plan, resource) scope before the first file is deleted. One archive out
of scope means the request cannot be trusted (a gateway that mixed scopes may also have
counted the wrong artifacts as kept), so nothing is deleted and the job fails, naming
each refused artifact. A redelivered prune finds its files gone and announces the same
`ArtifactsPruned` again, which JetStream stores once (same `Nats-Msg-Id`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from dockback_contracts import events as ev
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_runtime.jobs.running import point_of_no_return
from dockback_uploader.errors import OutOfScope
from dockback_uploader.local_archives import LocalArchives, LocatedArchive

log = logging.getLogger(__name__)

Removal = ev.PruneRequested | ev.DeleteRequested
"""A request to delete artifacts' copies: retention's prune of one series, or a person's deletion of one artifact."""


def archives_of(request: Removal) -> tuple[ev.ArchiveRef, ...]:
    return request.archives if isinstance(request, ev.PruneRequested) else (request.archive,)


class RemoteCopies(Protocol):
    """Deletes the request's artifacts' copies in the S3 targets (`ArchiveRef.remote_locations`).

    Without one (`remote=None`), a prune that names remote copies fails without deleting
    anything, so the catalog never marks an artifact pruned while a copy of it is still
    stored (and billed) somewhere.
    """

    async def delete(self, request: Removal) -> None:
        """Delete every remote copy the request lists, after proving each is in its scope
        (raise PruneRefused otherwise, deleting nothing); a copy already gone is fine."""
        ...


class PruneRefused(PermanentError):
    """Some archives of a prune are not provably in its scope; nothing was deleted."""

    def __init__(self, refusals: list[tuple[ev.ArchiveRef, OutOfScope]]) -> None:
        self.artifact_ids = [ref.artifact_id for ref, _ in refusals]
        details = "; ".join(f"artifact {ref.artifact_id}: {why}" for ref, why in refusals)
        super().__init__(f"refused to delete archives not provably of the request's scope, deleted nothing: {details}")


class PruneService:
    """Deletes the local and remote copies a `PruneRequested` or a `DeleteRequested` names."""

    def __init__(
        self, archives: LocalArchives, announcer: Announcer, host_id: str, remote: RemoteCopies | None = None
    ) -> None:
        self.archives = archives
        self.announcer = announcer
        self.host_id = host_id
        self.remote = remote

    async def run(self, request: Removal) -> None:
        if request.host_id != self.host_id:
            raise PermanentError(f"this uploader serves host {self.host_id}, not {request.host_id}")
        if not self.archives.exists():
            raise TransientError(f"the data dir {self.archives.root} does not exist (yet): is it the executor's?")
        located = await asyncio.to_thread(self._locate_all, request)
        # A cancellation after this would leave the catalog listing copies that are half gone.
        point_of_no_return()
        await self._delete_remote_copies(request)
        for archive in located:
            await asyncio.to_thread(self.archives.delete, archive)
        gone = sum(1 for a in located if not a.present)
        log.info(
            "%s %s: deleted %d archive(s) of plan %s (%s %s), %d already gone",
            "prune" if isinstance(request, ev.PruneRequested) else f"deletion by {request.requested_by}",
            request.job_id,
            len(located) - gone,
            request.plan_id,
            request.resource.kind,
            request.resource.name,
            gone,
        )
        await self.announcer.publish(
            ev.ArtifactsPruned(
                job_id=request.job_id,
                host_id=request.host_id,
                plan_id=request.plan_id,
                artifact_ids=tuple(a.artifact_id for a in located),
            )
        )

    def _locate_all(self, request: Removal) -> list[LocatedArchive]:
        located, refusals = [], []
        for ref in archives_of(request):
            try:
                located.append(self.archives.locate(ref, request))
            except OutOfScope as exc:
                refusals.append((ref, exc))
        if refusals:
            raise PruneRefused(refusals)
        return located

    async def _delete_remote_copies(self, request: Removal) -> None:
        with_copies = [ref for ref in archives_of(request) if ref.remote_locations]
        if not with_copies:
            return
        if self.remote is None:
            raise PermanentError(
                "deleting remote copies is not supported yet; nothing was deleted: "
                + ", ".join(f"artifact {ref.artifact_id} at {', '.join(ref.remote_locations)}" for ref in with_copies)
            )
        await self.remote.delete(request)  # remote first: a local file is what proves the scope on a retry
