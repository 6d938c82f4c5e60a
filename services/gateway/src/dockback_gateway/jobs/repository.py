"""Reading jobs, their log and what they produced."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.catalog.models import Artifact, ArtifactCopy
from dockback_gateway.errors import Invalid
from dockback_gateway.jobs.models import Job, JobLogEntry
from dockback_gateway.resources.models import Host


@dataclass(frozen=True)
class JobFilter:
    status: str | None = None
    kind: str | None = None
    host_id: str | None = None
    plan_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (created_at, id) of its last job. Opaque to clients."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"c": self.created_at.isoformat(), "i": str(self.id)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            value = json.loads(raw)
            created_at = datetime.fromisoformat(value["c"])
            if created_at.tzinfo is None:
                raise ValueError("naive time")
            return cls(created_at=created_at.astimezone(UTC), id=uuid.UUID(value["i"]))
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            raise Invalid("cursor: not a cursor this API returned (use next_cursor as it is)") from exc


def _filtered(query: Select[Any], wanted: JobFilter) -> Select[Any]:
    if wanted.status is not None:
        query = query.where(Job.status == wanted.status)
    if wanted.kind is not None:
        query = query.where(Job.kind == wanted.kind)
    if wanted.host_id is not None:
        query = query.where(Job.host_id == wanted.host_id)
    if wanted.plan_id is not None:
        query = query.where(Job.plan_id == wanted.plan_id)
    if wanted.since is not None:
        query = query.where(Job.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(Job.created_at < wanted.until)
    return query


async def page_of_jobs(
    db: AsyncSession, wanted: JobFilter, after: Cursor | None, limit: int
) -> tuple[Sequence[Job], Cursor | None]:
    """Up to `limit` jobs newest first, after `after`; and the cursor of the next page if there is one."""
    query = _filtered(select(Job), wanted)
    if after is not None:
        query = query.where(
            or_(Job.created_at < after.created_at, and_(Job.created_at == after.created_at, Job.id < after.id))
        )
    rows: Sequence[Job] = (
        await db.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1))
    ).all()
    page = rows[:limit]
    more = len(rows) > limit
    return page, Cursor(page[-1].created_at, page[-1].id) if more and page else None


async def job(db: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await db.get(Job, job_id)


async def job_for_update(db: AsyncSession, job_id: uuid.UUID) -> Job | None:
    query = select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    return await db.scalar(query)


async def log_of(db: AsyncSession, job_id: uuid.UUID) -> Sequence[JobLogEntry]:
    query = select(JobLogEntry).where(JobLogEntry.job_id == job_id).order_by(JobLogEntry.occurred_at, JobLogEntry.id)
    return (await db.scalars(query)).all()


async def artifacts_of(db: AsyncSession, job_id: uuid.UUID) -> list[tuple[Artifact, list[ArtifactCopy]]]:
    """The catalog's artifacts of the job (read only: the catalog owns them), with their copies."""
    artifacts = (
        await db.scalars(select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.created_at, Artifact.id))
    ).all()
    copies: dict[uuid.UUID, list[ArtifactCopy]] = {a.id: [] for a in artifacts}
    if artifacts:
        query = select(ArtifactCopy).where(ArtifactCopy.artifact_id.in_(copies)).order_by(ArtifactCopy.target_id)
        for copy in (await db.scalars(query)).all():
            copies[copy.artifact_id].append(copy)
    return [(a, copies[a.id]) for a in artifacts]


async def host(db: AsyncSession, host_id: str) -> Host | None:
    return await db.get(Host, host_id)
