"""Reading and locking catalog rows."""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactState, ArtifactVerification
from dockback_gateway.jobs.models import Job, JobStatus
from dockback_gateway.plans.models import Plan


@dataclass(frozen=True)
class ScopeKey:
    """One archive series in the catalog: retention never looks beyond it."""

    host_id: str
    plan_id: uuid.UUID
    resource_kind: str
    resource_name: str
    role: str

    @classmethod
    def of(cls, artifact: Artifact) -> ScopeKey:
        assert artifact.plan_id is not None, "an ad-hoc artifact belongs to no retention scope"
        return cls(artifact.host_id, artifact.plan_id, artifact.resource_kind, artifact.resource_name, artifact.role)

    def where(self) -> ColumnElement[bool]:
        return and_(
            Artifact.host_id == self.host_id,
            Artifact.plan_id == self.plan_id,
            Artifact.resource_kind == self.resource_kind,
            Artifact.resource_name == self.resource_name,
            Artifact.role == self.role,
        )


@dataclass(frozen=True)
class ArtifactFilter:
    host_id: str | None = None
    plan_id: uuid.UUID | None = None
    resource_kind: str | None = None
    resource_name: str | None = None
    state: str | None = None
    verified: bool | None = None


def verified_clause() -> ColumnElement[bool]:
    """SQL of `Artifact.verified`: checked, and no failed check since."""
    return and_(
        Artifact.verified_at.is_not(None),
        or_(Artifact.verify_failed_at.is_(None), Artifact.verify_failed_at <= Artifact.verified_at),
    )


DELETE_REQUEST_TYPE = ev.DeleteRequested.model_fields["type"].default


def is_a_delete_request() -> ColumnElement[bool]:
    """SQL: the job is a `DeleteRequested`. Constants, not parameters, so that the planner can use
    the partial index of those jobs (ix_jobs_delete_requests, 0016) in a generic plan too."""
    return Job.request.op("->>")(literal_column("'type'")) == literal_column(f"'{DELETE_REQUEST_TYPE}'")


def deleted_by_a_person() -> ColumnElement[bool]:
    """SQL: a person deleted the artifact (or is deleting it): its prune job is a `DeleteRequested`."""
    return exists().where(Job.id == Artifact.prune_job_id, is_a_delete_request())


async def get(db: AsyncSession, artifact_id: uuid.UUID, *, for_update: bool = False) -> Artifact | None:
    query = select(Artifact).where(Artifact.id == artifact_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await db.scalar(query)


async def page(
    db: AsyncSession, where: ArtifactFilter, *, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Artifact]:
    """Newest first (created_at, then id), starting after the cursor `before`. Without a state
    asked for, the artifacts a person deleted are left out (retention's pruned ones stay listed)."""
    query = select(Artifact)
    if where.state is None:
        query = query.where(~deleted_by_a_person())
    for column, value in (
        (Artifact.host_id, where.host_id),
        (Artifact.plan_id, where.plan_id),
        (Artifact.resource_kind, where.resource_kind),
        (Artifact.resource_name, where.resource_name),
        (Artifact.state, where.state),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.verified is not None:
        query = query.where(verified_clause() if where.verified else ~verified_clause())
    if before is not None:
        created_at, artifact_id = before
        query = query.where(
            or_(Artifact.created_at < created_at, and_(Artifact.created_at == created_at, Artifact.id < artifact_id))
        )
    query = query.order_by(Artifact.created_at.desc(), Artifact.id.desc()).limit(limit)
    return (await db.scalars(query)).all()


async def copies_of(db: AsyncSession, artifact_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ArtifactCopy]]:
    ids = list(artifact_ids)
    found: dict[uuid.UUID, list[ArtifactCopy]] = defaultdict(list)
    if ids:
        query = select(ArtifactCopy).where(ArtifactCopy.artifact_id.in_(ids)).order_by(ArtifactCopy.target_id)
        for copy in (await db.scalars(query)).all():
            found[copy.artifact_id].append(copy)
    return found


async def verifications_of(
    db: AsyncSession, artifact_id: uuid.UUID
) -> Sequence[tuple[ArtifactVerification, Job | None]]:
    """The artifact's verify jobs, newest first, with their job rows."""
    query = (
        select(ArtifactVerification, Job)
        .outerjoin(Job, Job.id == ArtifactVerification.job_id)
        .where(ArtifactVerification.artifact_id == artifact_id)
        .order_by(ArtifactVerification.requested_at.desc())
        .limit(20)
    )
    return [(v, j) for v, j in (await db.execute(query)).all()]


async def verification(db: AsyncSession, job_id: uuid.UUID) -> ArtifactVerification | None:
    return await db.get(ArtifactVerification, job_id)


async def lock_scope(db: AsyncSession, scope: ScopeKey) -> None:
    """Serialise retention of one scope until the transaction ends: two gateways recording two
    archives of the same series at once decide one after the other, each seeing the other's."""
    key = zlib.crc32(repr(scope).encode())
    await db.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"), {"namespace": 0x0D0C, "key": key - 2**31})


async def in_scope(db: AsyncSession, scope: ScopeKey, states: Sequence[str]) -> Sequence[Artifact]:
    query = select(Artifact).where(scope.where(), Artifact.state.in_(states)).with_for_update()
    return (await db.scalars(query.execution_options(populate_existing=True))).all()


async def read_by_open_jobs(db: AsyncSession, artifact_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `artifact_ids` that a queued or running restore or verify job is to read: the
    uploader takes no lock of the executor's, so pruning one would pull the file from under it."""
    ids = [str(i) for i in artifact_ids]
    if not ids:
        return set()
    found: set[uuid.UUID] = set()
    for named in (  # an archive's restore or check; a snapshot's restore
        Job.request[("archive", "artifact_id")].as_string(),
        Job.request[("snapshot", "artifact_id")].as_string(),
    ):
        query = select(named).where(
            Job.kind.in_(("restore", "verify")),
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
            named.in_(ids),
        )
        found |= {uuid.UUID(value) for value in (await db.scalars(query)).all()}
    return found


async def open_jobs_reading(db: AsyncSession, artifact_id: uuid.UUID) -> Sequence[Job]:
    """The queued or running restore (or fetch, a restore's first part) and verify jobs that are
    to read `artifact_id`, oldest first."""
    named = Job.request[("archive", "artifact_id")].as_string()
    query = (
        select(Job)
        .where(
            Job.kind.in_(("restore", "verify")),
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
            named == str(artifact_id),
        )
        .order_by(Job.created_at)
    )
    return (await db.scalars(query)).all()


async def job(db: AsyncSession, job_id: uuid.UUID | None) -> Job | None:
    return None if job_id is None else await db.get(Job, job_id)


async def of_prune_job(db: AsyncSession, job_id: uuid.UUID) -> Sequence[Artifact]:
    query = select(Artifact).where(Artifact.prune_job_id == job_id).with_for_update()
    return (await db.scalars(query.execution_options(populate_existing=True))).all()


async def newest_per_scope(db: AsyncSession, plan_id: uuid.UUID, at_or_before: datetime) -> Sequence[Artifact]:
    """The newest available, locally present artifact of each scope of a plan, as of a time."""
    query = (
        select(Artifact)
        .where(
            Artifact.plan_id == plan_id,
            Artifact.state == ArtifactState.AVAILABLE,
            Artifact.local_present,
            Artifact.created_at <= at_or_before,
        )
        .order_by(
            Artifact.host_id,
            Artifact.resource_kind,
            Artifact.resource_name,
            Artifact.role,
            Artifact.created_at.desc(),
            Artifact.id.desc(),
        )
        .ext(distinct_on(Artifact.host_id, Artifact.resource_kind, Artifact.resource_name, Artifact.role))
    )
    return (await db.scalars(query)).all()


async def of_plan(db: AsyncSession, plan_id: uuid.UUID) -> Sequence[Artifact]:
    """Every artifact of a plan that is not pruned yet, newest first."""
    query = (
        select(Artifact)
        .where(Artifact.plan_id == plan_id, Artifact.state != ArtifactState.PRUNED)
        .order_by(Artifact.created_at.desc(), Artifact.id.desc())
    )
    return (await db.scalars(query)).all()


async def plan(db: AsyncSession, plan_id: uuid.UUID) -> Plan | None:
    return await db.get(Plan, plan_id)


async def plans_to_verify(db: AsyncSession) -> Sequence[Plan]:
    """Live, enabled plans with a verification schedule."""
    query = select(Plan).where(Plan.deleted_at.is_(None), Plan.enabled, Plan.verify_cron.is_not(None))
    return (await db.scalars(query)).all()
