"""Reading plans, and what a plan refers to (hosts, S3 targets, its newest job)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Uuid, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, load_only

from dockback_gateway.jobs.models import Job
from dockback_gateway.plans.models import Plan
from dockback_gateway.resources.models import Host
from dockback_gateway.settings.models import S3Target, SettingsDefaults


async def live_plans(
    db: AsyncSession, *, host_id: str | None = None, enabled: bool | None = None, schedule_only: bool = False
) -> Sequence[Plan]:
    """The plans not deleted, by name; `schedule_only`: with only their names, hosts, schedules
    and creation times loaded (what the dashboard reads; the rest is not decoded)."""
    query = select(Plan).where(Plan.deleted_at.is_(None))
    if schedule_only:
        query = query.options(
            load_only(
                Plan.id,
                Plan.name,
                Plan.host_id,
                Plan.enabled,
                Plan.cron,
                Plan.timezone,
                Plan.created_at,
                Plan.deleted_at,
            )
        )
    if host_id is not None:
        query = query.where(Plan.host_id == host_id)
    if enabled is not None:
        query = query.where(Plan.enabled.is_(enabled))
    return (await db.scalars(query.order_by(func.lower(Plan.name), Plan.id))).all()


async def plan(db: AsyncSession, plan_id: uuid.UUID) -> Plan | None:
    return await db.get(Plan, plan_id)


async def plan_for_update(db: AsyncSession, plan_id: uuid.UUID) -> Plan | None:
    """The plan, locked until the transaction ends: changes to one plan happen one at a time,
    so each raises the revision exactly once."""
    query = select(Plan).where(Plan.id == plan_id).with_for_update().execution_options(populate_existing=True)
    return await db.scalar(query)


async def live_name_taken(db: AsyncSession, name: str, *, other_than: uuid.UUID | None = None) -> bool:
    """Names are unique among live plans whatever their case (a deleted plan's name is free)."""
    query = select(func.count()).where(Plan.deleted_at.is_(None), func.lower(Plan.name) == name.lower())
    if other_than is not None:
        query = query.where(Plan.id != other_than)
    return bool(await db.scalar(query))


async def host_known(db: AsyncSession, host_id: str) -> bool:
    return await db.get(Host, host_id) is not None


async def known_host_ids(db: AsyncSession, limit: int) -> list[str]:
    return list((await db.scalars(select(Host.host_id).order_by(Host.host_id).limit(limit))).all())


async def existing_target_ids(db: AsyncSession, target_ids: Iterable[str]) -> set[str]:
    wanted = list(target_ids)
    if not wanted:
        return set()
    return set((await db.scalars(select(S3Target.target_id).where(S3Target.target_id.in_(wanted)))).all())


async def all_target_ids(db: AsyncSession) -> list[str]:
    return list((await db.scalars(select(S3Target.target_id).order_by(S3Target.target_id))).all())


async def default_compression(db: AsyncSession) -> str | None:
    """The settings' compression for new plans, if an admin set one."""
    return await db.scalar(select(SettingsDefaults.default_compression).where(SettingsDefaults.id == 1))


async def newest_backup_jobs(db: AsyncSession, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
    """Each plan's newest backup job: one query that reads, per plan, the newest of its jobs by the
    (plan_id, created_at, id) index, not every job of every plan."""
    if not plan_ids:
        return {}
    plans = (
        func.unnest(bindparam("plan_ids", list(plan_ids), type_=ARRAY(Uuid))).table_valued("plan_id").render_derived()
    )
    newest = (
        select(Job)
        .where(Job.plan_id == plans.c.plan_id, Job.kind == "backup")
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(1)
        .lateral()
    )
    query = select(aliased(Job, newest)).select_from(plans).join(newest, true())
    return {job.plan_id: job for job in (await db.scalars(query)).all() if job.plan_id is not None}
