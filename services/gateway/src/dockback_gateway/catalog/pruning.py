"""Retention applied to the catalog: after a plan's archive is recorded, its series is judged
by the plan's policy (`dockback_gateway.catalog.retention`) and what the policy drops is pruned.

Only one scope at a time, (host, plan, resource, role), the one of the new archive; ad-hoc
archives (no plan) are never pruned automatically, and neither are the archives of a
deleted plan. Artifacts already being pruned are left out: they are on their way; artifacts an
open restore or verify job reads are held back until a later archive of the series. A prune
that fails (`JobFailed`) puts its artifacts back, so the next archive of the series retries.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_contracts.snapshots import RetentionPolicy
from dockback_gateway.catalog import repository, retention
from dockback_gateway.catalog.models import Artifact, ArtifactFormat, ArtifactState
from dockback_gateway.catalog.repository import ScopeKey
from dockback_gateway.catalog.requests import request_forget, request_prune
from dockback_gateway.jobs.models import Job, JobStatus
from dockback_gateway.plans.convert import retention_of

log = logging.getLogger(__name__)


def candidate(artifact: Artifact) -> retention.Candidate:
    assert artifact.plan_id is not None
    return retention.Candidate(
        artifact_id=artifact.id,
        host_id=artifact.host_id,
        plan_id=artifact.plan_id,
        resource=(artifact.resource_kind, artifact.resource_name),
        role=artifact.role,
        created_at=artifact.created_at,
        verified=artifact.verified,
        pruned=artifact.state == ArtifactState.PRUNED,
    )


@dataclass(frozen=True)
class ScopeDecision:
    """A policy's decision on one scope, and the artifacts whose prune is under way."""

    scope: ScopeKey
    decision: retention.RetentionDecision
    pruning: Sequence[Artifact]


def decide(artifacts: Sequence[Artifact], policy: RetentionPolicy, timezone: str, now: datetime) -> list[ScopeDecision]:
    """The decision on every scope among `artifacts` (pruned ones are ignored; those being
    pruned are reported beside the decision, not judged again)."""
    groups: dict[ScopeKey, list[Artifact]] = {}
    for artifact in artifacts:
        if artifact.plan_id is not None and artifact.state != ArtifactState.PRUNED:
            groups.setdefault(ScopeKey.of(artifact), []).append(artifact)
    decisions = []
    for scope, members in groups.items():
        live = [a for a in members if a.state == ArtifactState.AVAILABLE]
        decision = retention.decide(policy, [candidate(a) for a in live], timezone=timezone, now=now)
        pruning = [a for a in members if a.state == ArtifactState.PRUNING]
        decisions.append(ScopeDecision(scope, decision, pruning))
    return decisions


async def apply_retention(
    db: AsyncSession, artifact: Artifact, now: datetime
) -> ev.PruneRequested | ev.ForgetRequested | None:
    """Judge `artifact`'s series by its plan's policy and prune what the policy drops. Archives are
    judged among the series' archives and snapshots among its snapshots (a plan turned from one
    format to the other keeps both kinds): archives go by a prune, snapshots by a forget."""
    if artifact.plan_id is None:
        return None  # ad hoc: kept until a person deletes it
    plan = await repository.plan(db, artifact.plan_id)
    if plan is None or plan.deleted_at is not None:
        return None  # no live policy to judge by: keep everything
    scope = ScopeKey.of(artifact)
    await repository.lock_scope(db, scope)
    await _release_failed_prunes(db, scope)
    live = [a for a in await repository.in_scope(db, scope, [ArtifactState.AVAILABLE]) if a.format == artifact.format]
    decision = retention.decide(retention_of(plan), [candidate(a) for a in live], timezone=plan.timezone, now=now)
    doomed = [a for a in live if a.id in decision.delete_ids]
    # Read by an open restore or verify right now: kept, and judged again at the series' next archive.
    busy = await repository.read_by_open_jobs(db, (a.id for a in doomed))
    if busy:
        log.info("retention of plan %s: %d artifact(s) kept while a restore or verify reads them", plan.id, len(busy))
        doomed = [a for a in doomed if a.id not in busy]
    if not doomed:
        return None
    doomed.sort(key=lambda a: (a.created_at, a.id))
    request: ev.PruneRequested | ev.ForgetRequested
    if artifact.format == ArtifactFormat.REPOSITORY:
        request = await request_forget(db, doomed)
    else:
        request = await request_prune(db, doomed, await repository.copies_of(db, (a.id for a in doomed)))
    log.info(
        "retention of plan %s on %s (%s %s, %s): pruning %d artifact(s) as job %s",
        plan.id,
        scope.host_id,
        scope.resource_kind,
        scope.resource_name,
        scope.role,
        len(doomed),
        request.job_id,
    )
    return request


async def _release_failed_prunes(db: AsyncSession, scope: ScopeKey) -> None:
    """Artifacts left `pruning` by a prune job that ended without deleting them are available
    again (in case the failure was recorded without its `JobFailed` reaching the catalog)."""
    stuck = await repository.in_scope(db, scope, [ArtifactState.PRUNING])
    job_ids = {a.prune_job_id for a in stuck if a.prune_job_id is not None}
    ended: set[uuid.UUID] = set()
    for job_id in job_ids:
        job = await db.get(Job, job_id)
        if job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            ended.add(job_id)
    for artifact in stuck:
        if artifact.prune_job_id in ended:
            release(artifact)


def release(artifact: Artifact) -> None:
    """A prune that did not happen: the artifact is available (and judged) again."""
    if artifact.state == ArtifactState.PRUNING:
        artifact.state = ArtifactState.AVAILABLE
        artifact.prune_job_id = None
