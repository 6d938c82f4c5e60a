"""Queueing a job: the one way the gateway issues work to a host (backups run by hand,
restores, verifications, prunes, deletions of a backup).

In the caller's transaction, so either all of it exists or none does: the job row, the
request in the outbox (the job id as its Nats-Msg-Id, so a repeat is dropped by the
stream), the job's "queued" log line; and, once the transaction commits, the job on the live
feed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.jobs.journal import announce, log_line
from dockback_gateway.jobs.models import Job, JobStatus
from dockback_gateway.outbox.service import enqueue

Request = (
    ev.BackupRequested
    | ev.RestoreRequested
    | ev.FetchRequested
    | ev.VerifyRequested
    | ev.PruneRequested
    | ev.DeleteRequested
    | ev.ForgetRequested
    | ev.SnapshotRestoreRequested
)

_KIND: dict[type[ev.Event], str] = {
    ev.BackupRequested: "backup",
    ev.RestoreRequested: "restore",
    ev.FetchRequested: "restore",  # the uploader fetches the archive, then hands the restore on
    ev.VerifyRequested: "verify",
    ev.PruneRequested: "prune",
    ev.DeleteRequested: "prune",  # a prune of one artifact a person chose: settled and reconciled as prunes are
    ev.ForgetRequested: "prune",  # retention's prune of snapshots, which their host's executor forgets
    ev.SnapshotRestoreRequested: "restore",
}


def resource_of(request: Request) -> ev.ResourceRef | ev.RestoreTarget | None:
    """What the job is about, as its row and the job list show it: a restore's target."""
    match request:
        case ev.BackupRequested() | ev.PruneRequested() | ev.DeleteRequested() | ev.ForgetRequested():
            return request.resource
        case ev.RestoreRequested() | ev.SnapshotRestoreRequested():
            return request.target
        case ev.FetchRequested():
            return request.restore.target
        case ev.VerifyRequested():
            return None  # the caller knows the archive's resource
    raise AssertionError(f"not a request: {request!r}")


def describe(request: Request, resource: ev.ResourceRef | ev.RestoreTarget | None) -> str:
    """What was queued, for the job's log: `backup of volume pgdata`, `plan run`, ..."""
    named = f"{resource.kind} {resource.name}" if resource else None
    match request:
        case ev.BackupRequested():
            return f"backup of {named}" if named else "plan run"
        case ev.RestoreRequested():
            return f"restore into {named}{_backed_up_first(request)}"
        case ev.FetchRequested():
            return (
                f"restore into {named}, from a remote copy the host's uploader fetches first"
                f"{_backed_up_first(request.restore)}"
            )
        case ev.VerifyRequested():
            return f"check of the archive of {named}" if named else f"check of artifact {request.archive.artifact_id}"
        case ev.PruneRequested():
            return f"prune of {len(request.archives)} archive(s) of {named} that the plan's retention drops"
        case ev.DeleteRequested():
            return f"deletion of the backup of {named} (artifact {request.archive.artifact_id}) and its copies"
        case ev.SnapshotRestoreRequested():
            what = f"{len(request.paths)} path(s) of" if request.paths else "all of"
            return f"restore of {what} snapshot {request.snapshot.snapshot_id[:8]} into new {named}"
        case ev.ForgetRequested():
            return (
                f"forgetting {len(request.snapshots)} snapshot(s) of {named} in repository {request.repository} "
                "that the plan's retention drops"
            )
    raise AssertionError(f"not a request: {request!r}")


def _backed_up_first(restore: ev.RestoreRequested) -> str:
    """The restore's backup of the current data it takes first, in words (its job id to follow it)."""
    if restore.backup_first is None:
        return ""
    return f", after a backup of its current data (job {restore.backup_first.job_id}) that it takes first"


async def queue_job(
    db: AsyncSession,
    request: Request,
    *,
    plan_id: uuid.UUID | None = None,
    resource: ev.ResourceRef | ev.RestoreTarget | None = None,
    requested_by: str | None = None,
    scheduled_for: datetime | None = None,
) -> Job:
    """Queue `request` as a new job (its `job_id` must be new). `resource` defaults to what the
    request names (a restore's target); `plan_id`, `requested_by` and `scheduled_for` to the
    request's own."""
    now = datetime.now(UTC)
    resource = resource or resource_of(request)
    plan_id = plan_id or getattr(request, "plan_id", None)
    requested_by = requested_by or getattr(request, "requested_by", None)
    scheduled_for = scheduled_for or getattr(request, "scheduled_for", None)
    job = Job(
        id=request.job_id,
        kind=_KIND[type(request)],
        host_id=request.host_id,
        plan_id=plan_id,
        status=JobStatus.QUEUED,
        phase="queued",
        resource_kind=resource.kind if resource else None,
        resource_name=resource.name if resource else None,
        request=request.model_dump(mode="json"),
        scheduled_for=scheduled_for,
        requested_by=requested_by,
        upload_targets=list(request.upload_targets) if isinstance(request, ev.BackupRequested) else None,
        attempts=0,
        republished=0,
        bytes_done=0,
        created_at=now,
    )
    db.add(job)
    enqueue(db, request, message_id=request.job_id)
    await db.flush()
    who = f" by {requested_by}" if requested_by else ""
    when = f" for the run of {scheduled_for.isoformat()}" if scheduled_for else ""
    data: dict[str, Any] = {"requested_by": requested_by}
    if scheduled_for is not None:
        data["scheduled_for"] = scheduled_for.isoformat()
    await log_line(
        db,
        job.id,
        event_id=uuid.uuid4(),
        type_="gateway.queued",
        occurred_at=now,
        message=f"queued{who}{when} ({describe(request, resource)})",
        data=data,
    )
    announce(db, job)
    return job
