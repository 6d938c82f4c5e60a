"""Reading hosts, the plans that protect their resources, and their newest archives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.catalog.models import Artifact, ArtifactState
from dockback_gateway.plans.convert import parsed_targets
from dockback_gateway.plans.models import Plan
from dockback_gateway.resources.models import Host
from dockback_gateway.resources.protection import PlanTargets


@dataclass(frozen=True)
class ArchiveTimes:
    """The newest archive of one (host, resource, role), and its newest verification."""

    host_id: str
    resource_kind: str
    resource_name: str
    role: str
    last_backup_at: datetime
    last_verified_at: datetime | None


async def database_now(db: AsyncSession) -> datetime:
    """The database's clock: heartbeats are stored by it, so their age is measured by it too."""
    now = await db.scalar(select(func.now().cast(DateTime(timezone=True))))
    assert isinstance(now, datetime)
    return now


async def hosts(db: AsyncSession, host_id: str | None = None) -> Sequence[Host]:
    query = select(Host).order_by(Host.host_id)
    if host_id is not None:
        query = query.where(Host.host_id == host_id)
    return (await db.scalars(query)).all()


async def protecting_plans(db: AsyncSession, host_ids: Sequence[str]) -> list[PlanTargets]:
    """The live, enabled plans of these hosts, with their selectors."""
    if not host_ids:
        return []
    query = select(Plan.id, Plan.name, Plan.host_id, Plan.revision, Plan.updated_at, Plan.targets).where(
        Plan.deleted_at.is_(None), Plan.enabled.is_(True), Plan.host_id.in_(host_ids)
    )
    rows = (await db.execute(query.order_by(func.lower(Plan.name)))).all()
    return [
        PlanTargets(plan_id, name, host, parsed_targets(plan_id, revision, updated_at, targets))
        for plan_id, name, host, revision, updated_at, targets in rows
    ]


async def archive_times(db: AsyncSession, host_ids: Sequence[str]) -> list[ArchiveTimes]:
    """Per (host, resource, role), the newest archive not pruned and its newest verification (read only)."""
    if not host_ids:
        return []
    query = (
        select(
            Artifact.host_id,
            Artifact.resource_kind,
            Artifact.resource_name,
            Artifact.role,
            func.max(Artifact.created_at),
            func.max(Artifact.verified_at),
        )
        # the state as a constant, not a parameter: a generic plan can use the partial index of
        # the archives not pruned (ix_artifacts_live_series, 0017) only then
        .where(Artifact.host_id.in_(host_ids), Artifact.state != literal_column(f"'{ArtifactState.PRUNED.value}'"))
        .group_by(Artifact.host_id, Artifact.resource_kind, Artifact.resource_name, Artifact.role)
    )
    return [ArchiveTimes(*row) for row in (await db.execute(query)).all()]
