"""Work the catalog sends to a host: verify an artifact, prune artifacts, delete one artifact. Each
request is a job queued by `jobs.queue.queue_job` in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.catalog.models import (
    Artifact,
    ArtifactCopy,
    ArtifactFormat,
    ArtifactState,
    ArtifactVerification,
)
from dockback_gateway.errors import Invalid
from dockback_gateway.jobs.queue import queue_job


def archive_ref(artifact: Artifact, copies: Sequence[ArtifactCopy] = ()) -> ev.ArchiveRef:
    """Where an archive is and what it must hash to, with its remote copies as `target_id:key`.
    Invalid for a snapshot: no job that reads or removes an archive file may be sent one."""
    if artifact.format != ArtifactFormat.ARCHIVE:
        raise Invalid(
            f"backup {artifact.id} is snapshot {artifact.snapshot_id and artifact.snapshot_id[:8]} in repository "
            f"{artifact.repository!r}: restoring, checking and deleting single snapshots from DockBack is not "
            "available yet"
        )
    return ev.ArchiveRef(
        artifact_id=artifact.id,
        path=artifact.path,
        sha256=artifact.sha256,
        size_bytes=artifact.size_bytes,
        remote_locations=tuple(f"{c.target_id}:{c.key}" for c in copies),
    )


def catalogued(artifact: Artifact) -> ev.CataloguedArchive:
    """The catalog's record of `artifact`, carried in a restore: the executor and the uploader
    restore only what a manifest describes in agreement with it."""
    return ev.CataloguedArchive.model_validate(
        {
            "artifact_id": artifact.id,
            "job_id": artifact.job_id,
            "host_id": artifact.host_id,
            "plan_id": artifact.plan_id,
            "resource": resource_of(artifact),
            "role": artifact.role,
            "kind": artifact.kind.value,
            "archive_file": PurePosixPath(artifact.path).name,
            "compression": artifact.compression,
            "sha256": artifact.sha256,
            "size_bytes": artifact.size_bytes,
            "raw_bytes": artifact.raw_bytes,
            "file_count": artifact.file_count,
            "manifest_sha256": artifact.manifest.get("manifest_sha256"),  # the ArchiveCreated as recorded
        },
        strict=False,
    )


def resource_of(artifact: Artifact) -> ev.ResourceRef:
    return ev.ResourceRef.model_validate({"kind": artifact.resource_kind, "name": artifact.resource_name}, strict=False)


async def request_verification(
    db: AsyncSession,
    artifact: Artifact,
    copies: Sequence[ArtifactCopy],
    job_id: uuid.UUID,
    *,
    requested_by: str | None = None,
    scheduled_for: datetime | None = None,
) -> ev.VerifyRequested:
    """A verify job for `artifact`, and the job→artifact mapping.

    The caller makes sure the job id is new (a scheduled check's id is deterministic)."""
    request = ev.VerifyRequested(
        job_id=job_id, host_id=artifact.host_id, plan_id=artifact.plan_id, archive=archive_ref(artifact, copies)
    )
    await queue_job(db, request, resource=resource_of(artifact), requested_by=requested_by, scheduled_for=scheduled_for)
    db.add(
        ArtifactVerification(
            job_id=job_id,
            artifact_id=artifact.id,
            requested_at=datetime.now(UTC),
            requested_by=requested_by,
            scheduled_for=scheduled_for,
        )
    )
    return request


def _one_scope(doomed: Sequence[Artifact], what: str) -> Artifact:
    """The first of `doomed`, once every one is shown to be of its (host, plan, resource, role,
    repository) scope: a bug upstream must never widen a prune or a forget beyond its scope."""
    first = doomed[0]
    assert first.plan_id is not None
    scope = (first.host_id, first.plan_id, first.resource_kind, first.resource_name, first.role, first.repository)
    for artifact in doomed:
        same = (
            artifact.host_id,
            artifact.plan_id,
            artifact.resource_kind,
            artifact.resource_name,
            artifact.role,
            artifact.repository,
        )
        if same != scope:
            raise AssertionError(f"{what} of {scope} names artifact {artifact.id} of {same}")
    return first


async def _queue_removal(
    db: AsyncSession, request: ev.PruneRequested | ev.ForgetRequested, doomed: Sequence[Artifact]
) -> None:
    """Queue the job; its artifacts are `pruning` until the host confirms."""
    await queue_job(db, request)
    for artifact in doomed:
        artifact.state = ArtifactState.PRUNING
        artifact.prune_job_id = request.job_id


async def request_prune(
    db: AsyncSession, doomed: Sequence[Artifact], copies: dict[uuid.UUID, list[ArtifactCopy]]
) -> ev.PruneRequested:
    """One prune job for archives of ONE scope."""
    first = _one_scope(doomed, "prune")
    assert first.plan_id is not None
    request = ev.PruneRequested(
        job_id=uuid.uuid4(),
        host_id=first.host_id,
        plan_id=first.plan_id,
        resource=resource_of(first),
        archives=tuple(archive_ref(a, copies.get(a.id, ())) for a in doomed),
    )
    await _queue_removal(db, request, doomed)
    return request


async def request_forget(db: AsyncSession, doomed: Sequence[Artifact]) -> ev.ForgetRequested:
    """One forget job for snapshots of ONE scope, and so of one repository."""
    first = _one_scope(doomed, "forget")
    assert first.plan_id is not None
    assert first.repository is not None
    snapshots = []
    for artifact in doomed:
        assert artifact.snapshot_id is not None, f"artifact {artifact.id} is no snapshot"
        snapshots.append(
            ev.SnapshotRef(artifact_id=artifact.id, repository=first.repository, snapshot_id=artifact.snapshot_id)
        )
    request = ev.ForgetRequested(
        job_id=uuid.uuid4(),
        host_id=first.host_id,
        plan_id=first.plan_id,
        resource=resource_of(first),
        repository=first.repository,
        snapshots=tuple(snapshots),
    )
    await _queue_removal(db, request, doomed)
    return request


async def request_deletion(
    db: AsyncSession, artifact: Artifact, copies: Sequence[ArtifactCopy], *, requested_by: str
) -> ev.DeleteRequested:
    """One job that deletes `artifact` on its host and in every target, asked by a person. The
    artifact is `pruning` (and out of the catalog's list) until the host confirms with
    `ArtifactsPruned`, and available again if the job fails. The job is of kind `prune`: it is
    settled, reconciled and cancelled as prunes are."""
    job_id = uuid.uuid4()
    request = ev.DeleteRequested(
        job_id=job_id,
        host_id=artifact.host_id,
        plan_id=artifact.plan_id,
        resource=resource_of(artifact),
        archive=archive_ref(artifact, copies),
        requested_by=requested_by,
    )
    await queue_job(db, request)
    artifact.state = ArtifactState.PRUNING
    artifact.prune_job_id = job_id
    return request
