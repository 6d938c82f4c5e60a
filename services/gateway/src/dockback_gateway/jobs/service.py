"""The rules of running and cancelling jobs by hand, and of reading them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_contracts.snapshots import JobCancellation
from dockback_gateway.audit.service import Origin, record
from dockback_gateway.errors import Conflict, Invalid, NotFound
from dockback_gateway.jobs import repository
from dockback_gateway.jobs.cancels import Cancellations
from dockback_gateway.jobs.journal import announce, log_line
from dockback_gateway.jobs.liveness import host_online, last_heard_of
from dockback_gateway.jobs.models import Job, JobStatus
from dockback_gateway.jobs.queue import queue_job
from dockback_gateway.jobs.schemas import (
    ArtifactCopyOut,
    JobArtifact,
    JobDetail,
    JobLogLine,
    JobOut,
    JobPage,
    RunJob,
)
from dockback_gateway.plans import convert
from dockback_gateway.plans.admin_only import admin_asks, hide_hook_argv, require_admin_for
from dockback_gateway.plans.models import Plan
from dockback_gateway.users.models import Role

MAX_PAGE = 200


async def list_jobs(db: AsyncSession, wanted: repository.JobFilter, cursor: str | None, limit: int) -> JobPage:
    after = repository.Cursor.decode(cursor) if cursor else None
    jobs, next_cursor = await repository.page_of_jobs(db, wanted, after, limit)
    return JobPage(items=[JobOut.of(j) for j in jobs], next_cursor=next_cursor.encode() if next_cursor else None)


def _as_seen_by(role: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """A log line's data as `role` may see it: hooks' argv for admins only (they may hold
    passwords), a failed hook's output (redacted on its host) for operators and admins only."""
    if role == Role.ADMIN:
        return data
    data = hide_hook_argv(data)
    if role != Role.OPERATOR and type_ == ev.JobFailed.model_fields["type"].default:
        data = {k: v for k, v in data.items() if k != "output"}
    return data


async def job_detail(db: AsyncSession, job_id: uuid.UUID, role: str = Role.VIEWER) -> JobDetail:
    job = await repository.job(db, job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}")
    lines = await repository.log_of(db, job_id)
    artifacts = await repository.artifacts_of(db, job_id)
    return JobDetail(
        **JobOut.of(job).model_dump(),
        events=[
            JobLogLine(
                at=line.occurred_at, type=line.type, message=line.message, data=_as_seen_by(role, line.type, line.data)
            )
            for line in lines
        ],
        artifacts=[
            JobArtifact(
                id=a.id,
                resource_kind=a.resource_kind,
                resource_name=a.resource_name,
                role=a.role,
                format=a.format,
                snapshot_id=a.snapshot_id,
                path=a.path,
                size_bytes=a.size_bytes,
                sha256=a.sha256,
                state=a.state,
                created_at=a.created_at,
                verified_at=a.verified_at,
                copies=[
                    ArtifactCopyOut(target_id=c.target_id, bucket=c.bucket, key=c.key, uploaded_at=c.uploaded_at)
                    for c in copies
                ],
            )
            for a, copies in artifacts
        ],
    )


async def _request_for(
    db: AsyncSession, body: RunJob, job_id: uuid.UUID, username: str, role: str
) -> ev.BackupRequested:
    if body.plan_id is not None:
        plan = await db.scalar(select(Plan).where(Plan.id == body.plan_id, Plan.deleted_at.is_(None)))
        if plan is None:
            raise NotFound(f"there is no plan {body.plan_id}")
        return convert.backup_request_for(plan, job_id, requested_by=username)
    assert body.host_id is not None
    assert body.resource is not None
    require_admin_for(role, admin_asks(body.options, {}))
    if await repository.host(db, body.host_id) is None:
        raise Invalid(f"host_id: no executor has ever reported from host {body.host_id!r}")
    return ev.BackupRequested(
        job_id=job_id,
        host_id=body.host_id,
        resource=body.resource,
        options=body.options or ev.BackupOptions(),
        requested_by=username,
    )


async def run_job(db: AsyncSession, body: RunJob, username: str, origin: Origin, role: str) -> Job:
    """Queue a backup (see `queue_job`) and audit it. An ad-hoc backup's hooks and bind mounts
    are an admin's to ask for (a plan's run carries the hooks an admin gave the plan)."""
    job_id = uuid.uuid4()
    request = await _request_for(db, body, job_id, username, role)
    job = await queue_job(db, request)
    resource = request.resource
    await record(
        db,
        action="job.run",
        outcome="success",
        actor=username,
        origin=origin,
        target=str(job_id),
        details={
            "host_id": request.host_id,
            "plan_id": str(request.plan_id) if request.plan_id else None,
            "resource": resource.model_dump() if resource else None,
        },
    )
    return job


async def cancel_job(
    db: AsyncSession, job_id: uuid.UUID, username: str, origin: Origin, cancellations: Cancellations
) -> Job:
    """Ask the host's workers (executors and uploaders) to stop the job, through the cancellations
    bucket after the commit; the job ends when its worker reports it cancelled (or finished).

    A queued job whose host is offline cannot hear the request: it is cancelled at once (if
    the host comes back, its worker finds the cancellation before starting the job).
    """
    job = await repository.job_for_update(db, job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}")
    if JobStatus(job.status).finished:
        raise Conflict(f"job {job_id} has already {job.status}; there is nothing to cancel")
    now = datetime.now(UTC)
    job.cancel_requested_by = username
    line = f"cancellation requested by {username}"
    host = await repository.host(db, job.host_id)
    if job.status == JobStatus.QUEUED and not host_online(host, now):
        job.status = JobStatus.CANCELLED
        job.finished_at = now
        job.error = f"cancelled by {username} before it started (host {job.host_id} is offline, {last_heard_of(host)})"
        line += f"; cancelled at once: host {job.host_id} is offline"
        announce(db, job)
    await log_line(
        db,
        job_id,
        event_id=uuid.uuid4(),
        type_="gateway.cancel_requested",
        occurred_at=now,
        message=line,
        data={"requested_by": username},
    )
    await record(
        db,
        action="job.cancel",
        outcome="success",
        actor=username,
        origin=origin,
        target=str(job_id),
        details={"status": job.status, "host_id": job.host_id},
    )
    cancellations.put_after_commit(db, JobCancellation(job_id=job_id, requested_by=username, requested_at=now))
    return job
