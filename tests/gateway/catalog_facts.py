"""What the catalog records and reads: ArchiveCreated facts as an executor announces them,
waited for until the catalog has their artifact rows, the plan rows the catalog reads, and
the hours of the test day (T0)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_gateway.catalog.models import Artifact
from dockback_gateway.plans.models import Plan
from gateway.conftest import Gateway
from harness.eventually import eventually


async def publish(gateway: Gateway, event: ev.Event, *, message_id: str | None = None) -> None:
    """Publish a fact as a host would: on its subject, with its natural Nats-Msg-Id."""
    js = gateway.app.state.broker.connection.jetstream()
    await js.publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": message_id or subjects.message_id(event)},
    )


def archive_created(
    host_id: str,
    plan_id: uuid.UUID | None,
    name: str,
    created_at: datetime,
    *,
    kind: str = "volume",
    role: str | None = None,
    job_id: uuid.UUID | None = None,
) -> ev.ArchiveCreated:
    """The ArchiveCreated an executor would announce for one archive of `name`."""
    job_id = job_id or uuid.uuid4()
    resource = ev.ResourceRef(kind=kind, name=name)  # type: ignore[arg-type]
    role = role or name
    artifact_id = ev.artifact_id_for(job_id, resource, role)
    stem = f"{created_at:%Y%m%dT%H%M%S}-{job_id}-{role}"
    return ev.ArchiveCreated(
        job_id=job_id,
        host_id=host_id,
        occurred_at=created_at,
        plan_id=plan_id,
        resource=resource,
        role=role,
        archive=ev.ArchiveRef(
            artifact_id=artifact_id,
            path=f"{kind}s/{name}/{stem}.tar.zst",
            sha256=uuid.uuid5(artifact_id, "sha").hex * 2,
            size_bytes=1000 + created_at.minute,
        ),
        manifest_path=f"{kind}s/{name}/{stem}.manifest.json",
        raw_bytes=4096,
        file_count=3,
        compression="zstd",
        last_of_job=True,
    )


def snapshot_created(host_id: str, plan_id: uuid.UUID, name: str, created_at: datetime) -> ev.SnapshotCreated:
    """The SnapshotCreated an executor would announce for a snapshot of volume `name` in its plan's repository."""
    job_id = uuid.uuid4()
    resource = ev.ResourceRef(kind="volume", name=name)
    return ev.SnapshotCreated(
        job_id=job_id,
        host_id=host_id,
        occurred_at=created_at,
        plan_id=plan_id,
        resource=resource,
        role=name,
        snapshot=ev.SnapshotRef(
            artifact_id=ev.artifact_id_for(job_id, resource, name),
            repository=f"plan-{plan_id}",
            snapshot_id=uuid.uuid4().hex * 2,
        ),
        files_new=1,
        files_changed=0,
        files_unmodified=9,
        bytes_added=100,
        total_files=10,
        total_bytes=1000,
        last_of_job=True,
    )


async def catalogued(gateway: Gateway, event: ev.ArchiveCreated | ev.SnapshotCreated) -> uuid.UUID:
    """Publish the archive (or snapshot) and wait until the catalog has it."""
    await publish(gateway, event)
    artifact_id = event.archive.artifact_id if isinstance(event, ev.ArchiveCreated) else event.snapshot.artifact_id
    await eventually(lambda: artifact_row(gateway, artifact_id))
    return artifact_id


async def artifact_row(gateway: Gateway, artifact_id: uuid.UUID) -> Artifact | None:
    async with gateway.app.state.sessions() as db:
        return await db.get(Artifact, artifact_id)


async def add_plan(
    gateway: Gateway,
    name: str,
    host_id: str,
    *,
    keep_last: int = 2,
    verify_cron: str | None = None,
    created_at: datetime | None = None,
) -> uuid.UUID:
    """A plan row (the plans API is another domain's; the catalog only reads plans)."""
    plan = Plan(
        id=uuid.uuid4(),
        name=name,
        host_id=host_id,
        enabled=True,
        cron="0 2 * * *",
        timezone="Europe/Berlin",
        targets=[{"kind": "volume", "names": ["pgdata"]}],
        options={},
        upload_targets=[],
        retention={"keep_last": keep_last, "keep_minimum": 1},
        verify_cron=verify_cron,
        created_at=created_at or datetime.now(UTC) - timedelta(days=30),
    )
    async with gateway.app.state.sessions.begin() as db:
        db.add(plan)
    return plan.id


T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def hours(n: int) -> datetime:
    return T0 + timedelta(hours=n)
