"""How the jobs domain records facts (see `dockback_gateway.recording`): idempotent handlers
that run in the recorder's transaction.

Facts can come twice or out of order, and the first fact about a job may not be its
`JobQueued` (that one may have been lost). So every handler:

- creates the job row from what the fact says if there is none yet, and locks it;
- appends the fact to the job's log once (by event id): a fact seen before changes nothing;
- moves the status only forward: a finished job (succeeded, failed, cancelled) is never
  reopened by a late fact, which is logged and otherwise ignored.

The catalog's handlers run after these in the same transaction (for `ArchiveCreated` and
`UploadCompleted` they write the artifact and its copies), which is why the upload check
counts the fact's own artifact and copy besides those already stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactState
from dockback_gateway.jobs.feed import FEED, News
from dockback_gateway.jobs.models import Job, JobLogEntry, JobStatus, MissedRun
from dockback_gateway.jobs.schemas import JobOut
from dockback_gateway.outbox.service import enqueue
from dockback_gateway.recording import Handler

_KIND_OF: dict[type[ev.Event], str] = {
    ev.ArchiveCreated: "backup",
    ev.UploadCompleted: "backup",
    ev.RestoreCompleted: "restore",
    ev.ArchiveVerified: "verify",
    ev.ArtifactsPruned: "prune",
}


def size_text(size: int) -> str:
    """A byte count as a person reads it: 512 B, 12.3 MiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _short(sha256: str) -> str:
    return f"{sha256[:8]}…"


async def locked_job(db: AsyncSession, job_id: uuid.UUID) -> Job | None:
    """The job row, locked until the transaction ends (the recorder and the reconciler take turns)."""
    return await db.scalar(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    )


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


async def log_line(
    db: AsyncSession,
    job_id: uuid.UUID,
    *,
    event_id: uuid.UUID,
    type_: str,
    occurred_at: datetime,
    message: str,
    data: dict[str, Any],
) -> bool:
    """Append a line to the job's log; False if this event id is there already (a repeat)."""
    inserted = await db.execute(
        insert(JobLogEntry)
        .values(job_id=job_id, event_id=event_id, type=type_, occurred_at=occurred_at, message=message, data=data)
        .on_conflict_do_nothing(index_elements=[JobLogEntry.event_id])
        .returning(JobLogEntry.id)
    )
    return inserted.scalar_one_or_none() is not None


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
    if first_time and (job.last_event_at is None or event.occurred_at > job.last_event_at):
        job.last_event_at = event.occurred_at
    return first_time


def announce(db: AsyncSession, job: Job) -> None:
    """Tell the live view about the job's new state once this transaction has committed."""
    FEED.publish_after_commit(db, News("job", job.id, JobOut.of(job).model_dump(mode="json")))


def _finish(job: Job, status: JobStatus, at: datetime) -> None:
    job.status = status
    job.finished_at = at


def _succeed_job(db: AsyncSession, job: Job, at: datetime) -> None:
    """Move an unfinished job to succeeded and tell the bus, through the outbox in this
    transaction; callers check that it was not finished, so this happens once per job."""
    assert not JobStatus(job.status).finished
    _finish(job, JobStatus.SUCCEEDED, at)
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


def _start_running(job: Job, event: ev.JobEvent) -> None:
    """Any sign of work moves a queued job to running (its JobStarted may come later or never)."""
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.RUNNING
        if job.started_at is None:
            job.started_at = event.occurred_at


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
    if job.resource_kind is None and resource is not None:
        job.resource_kind, job.resource_name = resource.kind, resource.name


async def on_job_started(db: AsyncSession, event: ev.JobStarted) -> None:
    job = await _job_for(db, event, **_resource_fields(event.resource))
    if not await _log(db, job, event, f"attempt {event.attempt} started"):
        return
    change = _Change(job)
    job.attempts = max(job.attempts, event.attempt)
    if job.resource_kind is None and event.resource is not None:
        job.resource_kind, job.resource_name = event.resource.kind, event.resource.name
    if not JobStatus(job.status).finished:
        job.status = JobStatus.RUNNING
        job.started_at = min(job.started_at or event.occurred_at, event.occurred_at)
        if job.phase == "queued":
            job.phase = "prepare"
    change.announce_if_moved(db)


async def _uploads_complete(
    db: AsyncSession, job: Job, *, artifact: uuid.UUID | None = None, copy: tuple[uuid.UUID, str] | None = None
) -> bool:
    """Whether every archive of the job has a copy on every upload target (the fact being
    recorded counted in: its artifact or copy reaches the catalog right after this handler)."""
    if job.archives_done_at is None:
        return False
    targets = set(job.upload_targets or ())
    artifacts = set(
        await db.scalars(select(Artifact.id).where(Artifact.job_id == job.id, Artifact.state != ArtifactState.PRUNED))
    )
    if artifact is not None:
        artifacts.add(artifact)
    if not artifacts:
        return False
    copies = {
        (row.artifact_id, row.target_id)
        for row in await db.execute(
            select(ArtifactCopy.artifact_id, ArtifactCopy.target_id).where(ArtifactCopy.artifact_id.in_(artifacts))
        )
    }
    if copy is not None:
        copies.add(copy)
    return all((a, t) in copies for a in artifacts for t in targets)


async def on_archive_created(db: AsyncSession, event: ev.ArchiveCreated) -> None:
    job = await _job_for(db, event, kind="backup", upload_targets=list(event.upload_targets))
    what = event.role if event.role == event.resource.name else f"{event.resource.name} {event.role}"
    message = f"archive {what} {size_text(event.archive.size_bytes)} (sha256 {_short(event.archive.sha256)}) written"
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    if job.upload_targets is None:
        job.upload_targets = list(event.upload_targets)
    if event.last_of_job and job.archives_done_at is None:
        job.archives_done_at = event.occurred_at
    if not JobStatus(job.status).finished:
        _start_running(job, event)
        job.phase = "archive"
        if event.last_of_job:
            if not job.upload_targets:
                _succeed_job(db, job, event.occurred_at)
            elif await _uploads_complete(db, job, artifact=event.archive.artifact_id):
                _succeed_job(db, job, event.occurred_at)  # the uploads got here first
                job.phase = "upload"
            else:
                job.phase = "upload"
    change.announce_if_moved(db)


async def on_upload_completed(db: AsyncSession, event: ev.UploadCompleted) -> None:
    job = await _job_for(db, event, kind="backup")
    message = (
        f"copy uploaded to {event.target_id} ({event.bucket}/{event.key}, {size_text(event.size_bytes)}), "
        f"verified by {event.verified_by}"
    )
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    if not JobStatus(job.status).finished:
        _start_running(job, event)
        if job.archives_done_at is not None:
            job.phase = "upload"
        if await _uploads_complete(db, job, artifact=event.artifact_id, copy=(event.artifact_id, event.target_id)):
            _succeed_job(db, job, event.occurred_at)
    change.announce_if_moved(db)


async def _succeed(db: AsyncSession, event: ev.JobEvent, message: str, phase: str) -> None:
    job = await _job_for(db, event)
    if JobStatus(job.status).finished and job.status != JobStatus.SUCCEEDED:
        message += f" (after the job had {'been ' if job.status == JobStatus.CANCELLED else ''}{job.status}; ignored)"
    if not await _log(db, job, event, message):
        return
    change = _Change(job)
    if not JobStatus(job.status).finished:
        _start_running(job, event)
        job.phase = phase
        _succeed_job(db, job, event.occurred_at)
    change.announce_if_moved(db)


async def on_restore_completed(db: AsyncSession, event: ev.RestoreCompleted) -> None:
    how = "replacing the existing one" if event.replaced_existing else "as a new object"
    restarted = f"; restarted {', '.join(event.restarted_containers)}" if event.restarted_containers else ""
    await _succeed(db, event, f"restored into {event.target.kind} {event.target.name} {how}{restarted}", "restore")


async def on_archive_verified(db: AsyncSession, event: ev.ArchiveVerified) -> None:
    message = f"archive verified: sha256 {_short(event.sha256)} matches, {event.file_count} files read back"
    await _succeed(db, event, message, "verify")


async def on_artifacts_pruned(db: AsyncSession, event: ev.ArtifactsPruned) -> None:
    await _succeed(db, event, f"pruned {len(event.artifact_ids)} artifact(s)", "prune")


async def on_job_failed(db: AsyncSession, event: ev.JobFailed) -> None:
    job = await _job_for(db, event, **_resource_fields(event.resource))
    message = f"failed in phase {event.phase}: {event.reason}"
    already = JobStatus(job.status).finished
    if already:
        message += f" (reported after the job had {'been ' if job.status == JobStatus.CANCELLED else ''}{job.status})"
    if not await _log(db, job, event, message):
        return
    if already:
        return
    change = _Change(job)
    job.status = JobStatus.FAILED
    job.phase = event.phase
    job.error = event.reason
    job.retryable = event.retryable
    job.finished_at = event.occurred_at
    change.announce_if_moved(db)


async def on_job_cancelled(db: AsyncSession, event: ev.JobCancelled) -> None:
    job = await _job_for(db, event)
    if not await _log(db, job, event, f"cancelled in phase {event.phase}: {event.reason}"):
        return
    if JobStatus(job.status).finished:
        return
    change = _Change(job)
    job.status = JobStatus.CANCELLED
    job.phase = event.phase
    job.error = event.reason
    job.finished_at = event.occurred_at
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
    ev.UploadCompleted: [on_upload_completed],
    ev.RestoreCompleted: [on_restore_completed],
    ev.ArchiveVerified: [on_archive_verified],
    ev.ArtifactsPruned: [on_artifacts_pruned],
    ev.JobFailed: [on_job_failed],
    ev.JobCancelled: [on_job_cancelled],
    ev.RunMissed: [on_run_missed],
}
