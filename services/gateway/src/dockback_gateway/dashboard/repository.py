"""The dashboard's own reads: counts and newest rows across jobs, missed runs and the catalog
(read only; each of those domains owns its rows)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Uuid, and_, bindparam, delete, func, or_, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactState
from dockback_gateway.catalog.repository import verified_clause
from dockback_gateway.dashboard.models import AttentionAcknowledgement, StorageChange
from dockback_gateway.jobs.models import Job, JobStatus, MissedRun
from dockback_gateway.plans.models import Plan

_OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)
_FINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class PlanArchives:
    plan_id: uuid.UUID
    last_backup_at: datetime | None
    last_verified_at: datetime | None
    last_verified_artifact_id: uuid.UUID | None


@dataclass(frozen=True)
class MissedSlot:
    plan_id: uuid.UUID
    plan_name: str
    host_id: str
    scheduled_for: datetime
    missed_slots: int
    reason: str


@dataclass(frozen=True)
class KeptArchive:
    """An archive that existed during the storage window, and when its copies came and went."""

    id: uuid.UUID
    size_bytes: int
    created_at: datetime
    pruned_at: datetime | None
    local_present: bool
    copies: tuple[tuple[datetime, int], ...]  # (uploaded_at, size_bytes) of each remote copy


async def job_counts(db: AsyncSession, ended_since: datetime) -> dict[str, int]:
    """Jobs by status: the open ones, and those that ended since `ended_since`."""
    ended_at = func.coalesce(Job.finished_at, Job.last_event_at, Job.created_at)
    query = (
        select(Job.status, func.count())
        .where(or_(Job.status.in_(_OPEN), and_(Job.status.in_(_FINAL), ended_at >= ended_since)))
        .group_by(Job.status)
    )
    return {status: count for status, count in (await db.execute(query)).all()}


_FAILURE_COLUMNS = (
    Job.id,
    Job.kind,
    Job.status,
    Job.host_id,
    Job.plan_id,
    Job.resource_kind,
    Job.resource_name,
    Job.error,
    Job.created_at,
    Job.finished_at,
)


async def unresolved_failures(db: AsyncSession, since: datetime, limit: int) -> Sequence[tuple[Job, str | None]]:
    """Failed jobs created since `since` that are the newest finished job of their series (the
    same kind, plan, host and resource): no success came after them. Newest first, with the
    plan's name."""
    finished = (
        select(Job.id, Job.status)
        .where(Job.created_at >= since, Job.status.in_((JobStatus.SUCCEEDED, JobStatus.FAILED)))
        .order_by(Job.kind, Job.plan_id, Job.host_id, Job.resource_kind, Job.resource_name, Job.created_at.desc())
        .ext(distinct_on(Job.kind, Job.plan_id, Job.host_id, Job.resource_kind, Job.resource_name))
        .subquery()
    )
    query = (
        select(Job, Plan.name)
        .options(load_only(*_FAILURE_COLUMNS))  # not the request, the progress, the log
        .join(finished, finished.c.id == Job.id)
        .outerjoin(Plan, Plan.id == Job.plan_id)
        .where(finished.c.status == JobStatus.FAILED)
        .order_by(func.coalesce(Job.finished_at, Job.created_at).desc(), Job.id.desc())
        .limit(limit)
    )
    return [(job, name) for job, name in (await db.execute(query)).all()]


async def unresolved_missed_runs(db: AsyncSession, since: datetime, limit: int) -> list[MissedSlot]:
    """Each live plan's newest missed run reported since `since`, unless a backup of that plan
    succeeded after the slot. Newest first."""
    newest = (
        select(MissedRun)
        .where(MissedRun.reported_at >= since)
        .order_by(MissedRun.plan_id, MissedRun.scheduled_for.desc())
        .ext(distinct_on(MissedRun.plan_id))
        .subquery()
    )
    slot = func.coalesce(newest.c.last_scheduled_for, newest.c.scheduled_for)
    succeeded_since = (
        select(Job.id)
        .where(
            Job.plan_id == newest.c.plan_id,
            Job.kind == "backup",
            Job.status == JobStatus.SUCCEEDED,
            Job.created_at > slot,
        )
        .exists()
    )
    query = (
        select(newest.c.plan_id, Plan.name, newest.c.host_id, slot, newest.c.missed_slots, newest.c.reason)
        .join(Plan, Plan.id == newest.c.plan_id)
        .where(Plan.deleted_at.is_(None), ~succeeded_since)
        .order_by(slot.desc())
        .limit(limit)
    )
    return [MissedSlot(*row) for row in (await db.execute(query)).all()]


async def plan_archives(db: AsyncSession, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PlanArchives]:
    """Per plan: its newest archive not pruned, and its newest verified one."""
    if not plan_ids:
        return {}
    # Per plan, the first row of an index in the wanted order, not an aggregate over all its archives.
    plans = (
        func.unnest(bindparam("plan_ids", list(plan_ids), type_=ARRAY(Uuid))).table_valued("plan_id").render_derived()
    )
    kept = and_(Artifact.plan_id == plans.c.plan_id, Artifact.state != ArtifactState.PRUNED)
    newest = select(Artifact.created_at).where(kept).order_by(Artifact.created_at.desc()).limit(1).scalar_subquery()
    verified = (
        select(Artifact.verified_at, Artifact.id)
        .where(kept, verified_clause())
        .order_by(Artifact.verified_at.desc(), Artifact.id)
        .limit(1)
        .lateral()
    )
    query = select(plans.c.plan_id, newest, verified.c.verified_at, verified.c.id).select_from(
        plans.outerjoin(verified, true())
    )
    found = {
        plan_id: (at, verified_at, artifact_id) for plan_id, at, verified_at, artifact_id in await db.execute(query)
    }
    return {
        plan_id: PlanArchives(
            plan_id=plan_id,
            last_backup_at=found.get(plan_id, (None, None, None))[0],
            last_verified_at=found.get(plan_id, (None, None, None))[1],
            last_verified_artifact_id=found.get(plan_id, (None, None, None))[2],
        )
        for plan_id in plan_ids
    }


async def archives_kept_between(db: AsyncSession, start: datetime, end: datetime) -> list[KeptArchive]:
    """The archives that existed at some time in [start, end], with their remote copies."""
    query = select(
        Artifact.id, Artifact.size_bytes, Artifact.created_at, Artifact.pruned_at, Artifact.local_present
    ).where(Artifact.created_at <= end, or_(Artifact.pruned_at.is_(None), Artifact.pruned_at >= start))
    rows = (await db.execute(query)).all()
    copies: dict[uuid.UUID, list[tuple[datetime, int]]] = {}
    ids = [row.id for row in rows]
    for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
        copy_query = select(ArtifactCopy.artifact_id, ArtifactCopy.uploaded_at, ArtifactCopy.size_bytes).where(
            ArtifactCopy.artifact_id.in_(chunk)
        )
        for artifact_id, uploaded_at, size in (await db.execute(copy_query)).all():
            copies.setdefault(artifact_id, []).append((uploaded_at, size))
    return [
        KeptArchive(
            id=row.id,
            size_bytes=row.size_bytes,
            created_at=row.created_at,
            pruned_at=row.pruned_at,
            local_present=row.local_present,
            copies=tuple(sorted(copies.get(row.id, ()))),
        )
        for row in rows
    ]


async def storage_changes(db: AsyncSession) -> tuple[dict[date, tuple[int, int, int]], int]:
    """The change in bytes kept (total, local, remote) per UTC day, since the first archive, as
    the database's triggers record it (migration 0019); and how many rows that took."""
    query = select(
        StorageChange.day,
        func.sum(StorageChange.total_bytes),
        func.sum(StorageChange.local_bytes),
        func.sum(StorageChange.remote_bytes),
        func.count(),
    ).group_by(StorageChange.day)
    changes, rows = {}, 0
    for day, total, local, remote, count in (await db.execute(query)).all():
        changes[day] = (int(total), int(local), int(remote))
        rows += count
    return changes, rows


async def compact_storage_changes(db: AsyncSession) -> bool:
    """Fold the storage changes into one row per day, unless another transaction is doing it;
    whether this one did. Rows written meanwhile by transactions not yet committed stay as they
    are: the deletion sees only what was committed before it."""
    if not await db.scalar(select(func.pg_try_advisory_xact_lock(_COMPACTING_STORAGE))):
        return False
    await db.execute(_COMPACT_STORAGE)
    return True


_COMPACTING_STORAGE = 0x0D0C_5709  # the advisory lock of compact_storage_changes
_COMPACT_STORAGE = text(
    """
WITH gone AS (DELETE FROM storage_changes RETURNING day, total_bytes, local_bytes, remote_bytes)
INSERT INTO storage_changes (day, total_bytes, local_bytes, remote_bytes)
SELECT day, sum(total_bytes), sum(local_bytes), sum(remote_bytes) FROM gone GROUP BY day
"""
)


async def acknowledgements(db: AsyncSession) -> dict[str, AttentionAcknowledgement]:
    """Every acknowledgement, by key."""
    return {ack.key: ack for ack in await db.scalars(select(AttentionAcknowledgement))}


async def acknowledge(
    db: AsyncSession, key: str, by: str, message: str, through: datetime | None, free_bytes: int | None
) -> AttentionAcknowledgement:
    """Record (or replace) the acknowledgement of `key`, at the database's clock."""
    values = {"acknowledged_by": by, "message": message, "through": through, "free_bytes": free_bytes}
    upsert = (
        insert(AttentionAcknowledgement)
        .values(key=key, **values)
        .on_conflict_do_update(
            index_elements=[AttentionAcknowledgement.key], set_={**values, "acknowledged_at": func.now()}
        )
        .returning(AttentionAcknowledgement)
        .execution_options(populate_existing=True)
    )
    return (await db.scalars(upsert)).one()


async def forget_acknowledgements(db: AsyncSession, keys: Sequence[str]) -> int:
    """Delete the acknowledgements of `keys`; how many there were."""
    result = await db.execute(delete(AttentionAcknowledgement).where(AttentionAcknowledgement.key.in_(keys)))
    return int(getattr(result, "rowcount", 0) or 0)
