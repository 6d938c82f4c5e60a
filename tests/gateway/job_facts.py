"""Jobs as the gateway's recorder sees them: facts put on the bus the way hosts publish them
(queued, started, archived, failed), the host and plan rows a job refers to, the job rows and
log lines the recorder keeps, and whether it has acked every fact on the bus so far."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.streams import EVENTS_STREAM
from dockback_gateway.jobs.models import Job, JobLogEntry
from dockback_gateway.plans.models import Plan
from dockback_gateway.resources.models import Host
from gateway.conftest import Gateway

HOST = "host-a"
SHA = "ab12" + "0" * 60


async def publish(gateway: Gateway, event: ev.Event) -> None:
    """Put a fact on the bus the way its producer does (its natural Nats-Msg-Id)."""
    js = gateway.app.state.broker.connection.jetstream()
    await js.publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": subjects.message_id(event)},
    )


async def job_of(gateway: Gateway, job_id: uuid.UUID) -> Job | None:
    async with gateway.app.state.sessions() as db:
        job: Job | None = await db.get(Job, job_id)
        return job


async def job_in(gateway: Gateway, job_id: uuid.UUID, status: str) -> Job | None:
    """The job once it has `status` (for eventually)."""
    job = await job_of(gateway, job_id)
    return job if job is not None and job.status == status else None


async def log_of(gateway: Gateway, job_id: uuid.UUID) -> list[JobLogEntry]:
    async with gateway.app.state.sessions() as db:
        query = select(JobLogEntry).where(JobLogEntry.job_id == job_id).order_by(JobLogEntry.id)
        return list((await db.scalars(query)).all())


async def add_host(
    gateway: Gateway, host_id: str = HOST, *, online: bool = True, running: tuple[str, ...] = ()
) -> None:
    """A host row as the resources domain keeps it from heartbeats."""
    now = datetime.now(UTC)
    async with gateway.app.state.sessions.begin() as db:
        host = await db.get(Host, host_id)
        if host is None:
            host = Host(host_id=host_id, first_seen_at=now, running_job_ids=[])
            db.add(host)
        host.heartbeat_at = now if online else now - timedelta(hours=1)
        host.heartbeat_interval_seconds = 10.0
        host.running_job_ids = list(running)


async def add_plan(gateway: Gateway, **fields: Any) -> Plan:
    values: dict[str, Any] = {
        "name": f"plan-{uuid.uuid4().hex[:8]}",
        "host_id": HOST,
        "cron": "0 3 * * *",
        "timezone": "UTC",
        "targets": [{"kind": "volume", "names": ["pgdata"]}],
        "options": {},
        "upload_targets": [],
        "retention": {},
        **fields,
    }
    async with gateway.app.state.sessions.begin() as db:
        plan = Plan(**values)
        db.add(plan)
    return plan


def queued(job_id: uuid.UUID, *, host: str = HOST, upload_targets: tuple[str, ...] = (), **extra: Any) -> ev.JobQueued:
    request = ev.BackupRequested(
        job_id=job_id,
        host_id=host,
        resource=ev.ResourceRef(kind="volume", name="pgdata"),
        upload_targets=upload_targets,
    )
    return ev.JobQueued(job_id=job_id, host_id=host, kind="backup", request=request, **extra)


def started(job_id: uuid.UUID, attempt: int = 1, **extra: Any) -> ev.JobStarted:
    return ev.JobStarted(job_id=job_id, host_id=HOST, kind="backup", attempt=attempt, **extra)


def archived(job_id: uuid.UUID, *, last: bool = True, upload_targets: tuple[str, ...] = ()) -> ev.ArchiveCreated:
    resource = ev.ResourceRef(kind="volume", name="pgdata")
    artifact_id = ev.artifact_id_for(job_id, resource, "pgdata")
    return ev.ArchiveCreated(
        job_id=job_id,
        host_id=HOST,
        resource=resource,
        role="pgdata",
        archive=ev.ArchiveRef(
            artifact_id=artifact_id, path=f"archives/{artifact_id}.tar.zst", sha256=SHA, size_bytes=12_897_485
        ),
        manifest_path=f"archives/{artifact_id}.json",
        raw_bytes=20_000_000,
        file_count=42,
        compression="zstd",
        upload_targets=upload_targets,
        last_of_job=last,
    )


def failed(job_id: uuid.UUID, reason: str = "the volume pgdata does not exist", **extra: Any) -> ev.JobFailed:
    return ev.JobFailed(
        job_id=job_id, host_id=HOST, kind="backup", phase="archive", reason=reason, retryable=False, **extra
    )


async def recorder_idle(gateway: Gateway) -> bool:
    js = gateway.app.state.broker.connection.jetstream()
    info = await js.consumer_info(EVENTS_STREAM, "gateway-recorder")
    return info.num_pending == 0 and info.num_ack_pending == 0
