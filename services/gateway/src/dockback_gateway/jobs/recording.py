"""How the jobs domain records facts (see `dockback_gateway.recording`): idempotent handlers
that run in the recorder's transaction, and the step that settles a backup once every handler
of its fact has run. Which status a fact moves a job to is `jobs.states`'s rules.

Facts can come twice or out of order, and the first fact about a job may not be its
`JobQueued` (that one may have been lost). So every handler:

- creates the job row from what the fact says if there is none yet, and locks it;
- appends the fact to the job's log once (by event id): a fact seen before changes nothing;
- moves the status only forward: a finished job (succeeded, failed, cancelled) is never
  reopened by a late fact, which is logged and otherwise ignored.

A backup ends when the catalog holds every archive of it with a copy on each upload target.
The catalog's handlers write those archives and copies, so `settle` decides it after them,
from what is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway import provenance
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactFormat, ArtifactKind, ArtifactState
from dockback_gateway.jobs import states
from dockback_gateway.jobs.journal import announce, locked_job, log_line
from dockback_gateway.jobs.models import Job, JobStatus, MissedRun
from dockback_gateway.outbox.service import enqueue
from dockback_gateway.recording import Handler
from dockback_runtime.redaction import redact
from dockback_runtime.words import byte_count

_KIND_OF: dict[type[ev.Event], str] = {
    ev.ArchiveCreated: "backup",
    ev.SnapshotCreated: "backup",
    ev.UploadCompleted: "backup",
    ev.RestoreCompleted: "restore",
    ev.ArchiveVerified: "verify",
    ev.ArtifactsPruned: "prune",
}


def _short(sha256: str) -> str:
    return f"{sha256[:8]}…"


async def _job_for(db: AsyncSession, event: ev.JobEvent, **known: Any) -> Job:
    """The event's job, created from what the event says if there is none yet, and locked."""
    kind = getattr(event, "kind", None) or _KIND_OF.get(type(event), "backup")
    values: dict[str, Any] = {
        "id": event.job_id,
        "kind": kind,
        "host_id": event.host_id,
        "plan_id": getattr(event, "plan_id", None),
        "status": JobStatus.QUEUED,
        "phase": "queued",
        "created_at": event.occurred_at,
        **known,
    }
    await db.execute(insert(Job).values(**values).on_conflict_do_nothing(index_elements=[Job.id]))
    job = await locked_job(db, event.job_id)
    assert job is not None
    if job.plan_id is None and values["plan_id"] is not None:
        job.plan_id = values["plan_id"]
    return job


async def _log(db: AsyncSession, job: Job, event: ev.JobEvent, message: str) -> bool:
    first_time = await log_line(
        db,
        job.id,
        event_id=event.event_id,
        type_=event.type,
        occurred_at=event.occurred_at,
        message=message,
        data=event.model_dump(mode="json"),
    )
    if first_time:
        states.heard_at(job, event.occurred_at)
    return first_time


def _succeed(db: AsyncSession, job: Job, at: datetime, *, phase: str | None = None, figure: int | None = None) -> None:
    """Move an open job to succeeded and tell the bus, through the outbox in this transaction;
    `states.succeed` moves a job once, so this happens once per job. `figure`: the bytes its
    archives hold (from the catalog), the job's final figure in place of its last progress sample."""
    if not states.succeed(job, at, phase=phase, figure=figure):
        return
    resource = (
        ev.ResourceRef(kind=job.resource_kind, name=job.resource_name)  # type: ignore[arg-type]
        if job.resource_kind and job.resource_name
        else None
    )
    size = job.bytes_total if job.bytes_total is not None else (job.bytes_done or None)
    enqueue(
        db,
        ev.JobSucceeded(
            job_id=job.id,
            host_id=job.host_id,
            kind=job.kind,  # type: ignore[arg-type]
            plan_id=job.plan_id,
            resource=resource,
            bytes=size,
            finished_at=at,
        ),
    )


class _Change:
    """Whether the job's status or phase moved while a handler ran, to announce it once."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.before = (job.status, job.phase)

    def announce_if_moved(self, db: AsyncSession) -> None:
        if (self.job.status, self.job.phase) != self.before:
            announce(db, self.job)


def _resource_fields(resource: ev.ResourceRef | None) -> dict[str, Any]:
    return {} if resource is None else {"resource_kind": resource.kind, "resource_name": resource.name}


async def on_job_queued(db: AsyncSession, event: ev.JobQueued) -> None:
    await provenance.take_back_claimed_job(db, event)
    request = event.request
    resource = getattr(request, "resource", None)
    upload_targets = list(getattr(request, "upload_targets", ()))
    job = await _job_for(
        db,
        event,
        request=request.model_dump(mode="json"),
        scheduled_for=event.scheduled_for,
        requested_by=getattr(request, "requested_by", None),
        upload_targets=upload_targets,
        **_resource_fields(resource),
    )
    when = f" for the run of {event.scheduled_for.isoformat()}" if event.scheduled_for else ""
    if not await _log(db, job, event, f"queued{when}"):
        return
    # A job created by a later fact first learns its request here.
    if job.request is None:
        job.request = request.model_dump(mode="json")
    job.scheduled_for = job.scheduled_for or event.scheduled_for
    job.created_at = min(job.created_at, event.occurred_at)
    job.requested_by = job.requested_by or getattr(request, "requested_by", None)
    if job.upload_targets is None:
        job.upload_targets = upload_targets
    states.learn_resource(job, resource)


async def on_job_started(db: AsyncSession, event: ev.JobStarted) -> None:
    job = await _job_for(db, event, **_resource_fields(event.resource))
    if not await _log(db, job, event, f"attempt {event.attempt} started"):
        return
    change = _Change(job)
    states.learn_resource(job, event.resource)
    states.started(job, event.attempt, event.occurred_at)
    change.announce_if_moved(db)


async def on_archive_created(db: AsyncSession, event: ev.ArchiveCreated) -> None:
    job = await _job_for(db, event, kind="backup", upload_targets=list(event.upload_targets))
    what = event.role if event.role == event.resource.name else f"{event.resource.name} {event.role}"
    message = f"archive {what} {byte_count(event.archive.size_bytes)} (sha256 {_short(event.archive.sha256)}) written"
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    states.archive_written(job, event.occurred_at, last_of_job=event.last_of_job, upload_targets=event.upload_targets)
    change.announce_if_moved(db)


async def on_snapshot_created(db: AsyncSession, event: ev.SnapshotCreated) -> None:
    job = await _job_for(db, event, kind="backup")
    what = event.role if event.role == event.resource.name else f"{event.resource.name} {event.role}"
    message = (
        f"snapshot {what} {event.snapshot.snapshot_id[:8]} saved in repository {event.snapshot.repository}: "
        f"{event.files_new} new, {event.files_changed} changed, {event.files_unmodified} unchanged files, "
        f"{byte_count(event.bytes_added)} added of {byte_count(event.total_bytes)}"
    )
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    states.archive_written(job, event.occurred_at, last_of_job=event.last_of_job, upload_targets=())
    change.announce_if_moved(db)


async def on_upload_completed(db: AsyncSession, event: ev.UploadCompleted) -> None:
    job = await _job_for(db, event, kind="backup")
    message = (
        f"copy uploaded to {event.target_id} ({event.bucket}/{event.key}, {byte_count(event.size_bytes)}), "
        f"verified by {event.verified_by}"
    )
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    states.copy_uploaded(job, event.occurred_at)
    change.announce_if_moved(db)


async def settle_backup(db: AsyncSession, event: ev.ArchiveCreated | ev.SnapshotCreated | ev.UploadCompleted) -> None:
    """After every handler of an archive, snapshot or upload fact: the backup succeeds once the
    catalog holds every archive and snapshot of it (not pruned), each archive with a copy on each
    of its upload targets (a snapshot stays in its repository)."""
    job = await locked_job(db, event.job_id)
    if job is None or states.finished(job) or job.archives_done_at is None:
        return
    rows = await db.execute(
        select(Artifact.id, Artifact.format).where(Artifact.job_id == job.id, Artifact.state != ArtifactState.PRUNED)
    )
    formats: dict[uuid.UUID, str] = {artifact_id: format_ for artifact_id, format_ in rows}
    artifacts = {a for a, f in formats.items() if f == ArtifactFormat.ARCHIVE}
    if formats and not artifacts:
        _succeed(db, job, event.occurred_at, figure=await _written(db, job.id))
        announce(db, job)
        return
    copies = {
        (row.artifact_id, row.target_id)
        for row in await db.execute(
            select(ArtifactCopy.artifact_id, ArtifactCopy.target_id).where(ArtifactCopy.artifact_id.in_(artifacts))
        )
    }
    if states.backup_complete(job, artifacts, copies):
        _succeed(db, job, event.occurred_at, figure=await _written(db, job.id))
        announce(db, job)


async def _written(db: AsyncSession, job_id: uuid.UUID) -> int | None:
    written = await db.scalar(select(func.sum(Artifact.raw_bytes)).where(Artifact.job_id == job_id))
    return None if written is None else int(written)


async def _finish_with_success(
    db: AsyncSession, event: ev.JobEvent, message: str, phase: str, artifact_id: uuid.UUID | None = None
) -> None:
    job = await _job_for(db, event)
    if job.status != JobStatus.SUCCEEDED:
        message += states.late_note(job)
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    figure = None if artifact_id is None else await _bytes_of(db, artifact_id)
    _succeed(db, job, event.occurred_at, phase=phase, figure=figure)
    change.announce_if_moved(db)


async def _bytes_of(db: AsyncSession, artifact_id: uuid.UUID) -> int | None:
    """The bytes a restore or check of this archive goes through, as recorded when it was made:
    its tar stream's size; a container's config archive counts the volumes backed up with it,
    which its restore restores too. None when the catalog does not hold it."""
    artifact = await db.get(Artifact, artifact_id)
    if artifact is None:
        return None
    if artifact.kind != ArtifactKind.CONFIG:
        return artifact.raw_bytes
    siblings = await db.scalars(
        select(Artifact).where(
            Artifact.job_id == artifact.job_id,
            Artifact.resource_kind == artifact.resource_kind,
            Artifact.resource_name == artifact.resource_name,
        )
    )
    return sum(a.raw_bytes for a in siblings if a.kind == ArtifactKind.VOLUME)


async def on_restore_completed(db: AsyncSession, event: ev.RestoreCompleted) -> None:
    how = "replacing the existing one" if event.replaced_existing else "as a new object"
    restarted = f"; restarted {', '.join(event.restarted_containers)}" if event.restarted_containers else ""
    message = f"restored into {event.target.kind} {event.target.name} {how}{restarted}"
    await _finish_with_success(db, event, message, "restore", event.artifact_id)


async def on_archive_verified(db: AsyncSession, event: ev.ArchiveVerified) -> None:
    message = f"archive verified: sha256 {_short(event.sha256)} matches, {event.file_count} files read back"
    await _finish_with_success(db, event, message, "verify", event.artifact_id)


async def on_artifacts_pruned(db: AsyncSession, event: ev.ArtifactsPruned) -> None:
    await _finish_with_success(db, event, f"pruned {len(event.artifact_ids)} artifact(s)", "prune")


async def on_job_failed(db: AsyncSession, event: ev.JobFailed) -> None:
    if event.output:  # redacted on the host already; a host of an older version did not
        event = event.model_copy(update={"output": redact(event.output)})
    job = await _job_for(db, event, **_resource_fields(event.resource))
    message = f"failed in phase {event.phase}: {event.reason}" + states.late_note(
        job, verb="reported after", ignored=False
    )
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    states.fail(job, event.occurred_at, phase=event.phase, reason=event.reason, retryable=event.retryable)
    change.announce_if_moved(db)


async def on_job_cancelled(db: AsyncSession, event: ev.JobCancelled) -> None:
    job = await _job_for(db, event)
    if not await _log(db, job, event, f"cancelled in phase {event.phase}: {event.reason}"):
        return
    change = _Change(job)
    states.cancel(job, event.occurred_at, phase=event.phase, reason=event.reason)
    change.announce_if_moved(db)


async def on_run_missed(db: AsyncSession, event: ev.RunMissed) -> None:
    """One row per reported gap (plan, first slot); the reconciler reads these so it does not
    report the same slots again."""
    await db.execute(
        insert(MissedRun)
        .values(
            plan_id=event.plan_id,
            scheduled_for=event.scheduled_for,
            host_id=event.host_id,
            missed_slots=event.missed_slots,
            last_scheduled_for=event.last_scheduled_for,
            reason=event.reason,
        )
        .on_conflict_do_nothing(index_elements=[MissedRun.plan_id, MissedRun.scheduled_for])
    )


HANDLERS: dict[type[ev.Event], list[Handler]] = {
    ev.JobQueued: [on_job_queued],
    ev.JobStarted: [on_job_started],
    ev.ArchiveCreated: [on_archive_created],
    ev.SnapshotCreated: [on_snapshot_created],
    ev.UploadCompleted: [on_upload_completed],
    ev.RestoreCompleted: [on_restore_completed],
    ev.ArchiveVerified: [on_archive_verified],
    ev.ArtifactsPruned: [on_artifacts_pruned],
    ev.JobFailed: [on_job_failed],
    ev.JobCancelled: [on_job_cancelled],
    ev.RunMissed: [on_run_missed],
}

SETTLE: dict[type[ev.Event], list[Handler]] = {
    ev.ArchiveCreated: [settle_backup],
    ev.SnapshotCreated: [settle_backup],
    ev.UploadCompleted: [settle_backup],
}
"""Run after every handler of the fact (the catalog's too), in the same transaction."""
