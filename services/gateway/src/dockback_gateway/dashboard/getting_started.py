"""The getting-started checklist of a new installation: each step a fact the database proves
(an executor online, an off-site target, an enabled plan, a backup that succeeded, an archive
that passed verification), in the order a new user does them.

A step reads what exists now, so the checklist comes back when its proof goes (the last plan
deleted, every host offline); a backup that succeeded or an archive that was verified stays
proven. A later step (a first drill) is one more function in `STEPS` and one more `GettingStartedStepId`.
The queries walk the newest rows first along the jobs' and artifacts' creation-time indexes and
stop at the first match: quick once a step is done; before a first verification the verified
step reads every archive (no index on verified_at), which a new installation has few of.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.catalog.models import Artifact, ArtifactState
from dockback_gateway.catalog.repository import verified_clause
from dockback_gateway.dashboard.attention import subject
from dockback_gateway.dashboard.schemas import GettingStarted, GettingStartedStep
from dockback_gateway.jobs.models import Job, JobStatus
from dockback_gateway.plans.models import Plan
from dockback_gateway.resources.schemas import HostOut
from dockback_gateway.settings.models import S3Target

NAMES_SHOWN = 3  # a step's detail names at most this many hosts or targets


@dataclass(frozen=True)
class Installation:
    """What the dashboard has read already and the steps share: hosts and live plans."""

    db: AsyncSession
    hosts: Sequence[HostOut]
    plans: Sequence[Plan]


Step = Callable[[Installation], Awaitable[GettingStartedStep]]


async def getting_started(
    db: AsyncSession, hosts: Sequence[HostOut], plans: Sequence[Plan], unprotected_volumes: int
) -> GettingStarted:
    """Every step in order, whether it is done and what proves it."""
    installation = Installation(db=db, hosts=hosts, plans=plans)
    steps = [await step(installation) for step in STEPS]
    return GettingStarted(
        complete=all(step.done for step in steps), steps=steps, unprotected_volumes=unprotected_volumes
    )


async def _host_online(installation: Installation) -> GettingStartedStep:
    def step(done: bool, detail: str, host: HostOut | None = None) -> GettingStartedStep:
        return GettingStartedStep(
            step="host_online",
            title="Connect a Docker host",
            done=done,
            detail=detail,
            at=host.heartbeat_at if host else None,
            host_id=host.host_id if host else None,
        )

    online = [host for host in installation.hosts if host.online]
    if online:
        verb = "is" if len(online) == 1 else "are"
        return step(True, f"{_names([h.host_id for h in online])} {verb} online", _last_heard(online))
    if installation.hosts:
        last = _last_heard(installation.hosts)
        return step(False, f"Every host is offline ({last.host_id} was heard from last): start its executor", last)
    return step(False, "No executor has reported yet: start one on a Docker host, with access to its Docker Engine")


async def _storage_target(installation: Installation) -> GettingStartedStep:
    targets = list(await installation.db.scalars(select(S3Target.target_id).order_by(S3Target.target_id)))
    if targets:
        noun = "S3 target" if len(targets) == 1 else "S3 targets"
        detail = f"{noun} {_names(targets)}: plans can copy archives off their host"
    else:
        detail = "No S3 target yet: archives stay on their host only and are lost with it"
    return GettingStartedStep(
        step="storage_target", title="Add an off-site storage target", done=bool(targets), detail=detail
    )


async def _first_plan(installation: Installation) -> GettingStartedStep:
    step = partial(GettingStartedStep, step="first_plan", title="Create a backup plan")
    first = _first_enabled(installation.plans)
    if first is not None:
        enabled = sum(plan.enabled for plan in installation.plans)
        more = f" (and {enabled - 1} more)" if enabled > 1 else ""
        detail = f"Plan {first.name} backs up on {first.host_id}{more}"
        return step(done=True, detail=detail, at=first.created_at, plan_id=first.id, host_id=first.host_id)
    if installation.plans:
        disabled = installation.plans[0]
        detail = f"Plan {disabled.name} is disabled: enable it, or create another, so backups run"
        return step(done=False, detail=detail, plan_id=disabled.id, host_id=disabled.host_id)
    return step(done=False, detail="No plan yet: a plan says what to back up, when, and how long to keep it")


async def _first_backup(installation: Installation) -> GettingStartedStep:
    step = partial(GettingStartedStep, step="first_backup", title="Run a first backup")
    newest = (
        await installation.db.execute(
            select(Job, Plan.name)
            .outerjoin(Plan, Plan.id == Job.plan_id)
            .where(Job.kind == "backup", Job.status == JobStatus.SUCCEEDED)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(1)
        )
    ).first()
    if newest is not None:
        job, plan_name = newest
        detail = _sentence("Backup", subject(plan_name, job.resource_kind, job.resource_name), "succeeded")
        return step(
            done=True, detail=detail, at=job.finished_at, host_id=job.host_id, plan_id=job.plan_id, job_id=job.id
        )
    plan = _first_enabled(installation.plans)
    if plan is None:
        return step(done=False, detail="No backup has succeeded yet: create a plan first")
    detail = f"No backup has succeeded yet: run plan {plan.name} now, or wait for its schedule"
    return step(done=False, detail=detail, plan_id=plan.id, host_id=plan.host_id)


async def _first_verified_backup(installation: Installation) -> GettingStartedStep:
    step = partial(GettingStartedStep, step="first_verified_backup", title="Verify a backup")
    db = installation.db
    verified = await db.scalar(
        select(Artifact).where(verified_clause()).order_by(Artifact.created_at.desc(), Artifact.id.desc()).limit(1)
    )
    if verified is not None:
        of = subject(await _plan_name(installation, verified), verified.resource_kind, verified.resource_name)
        return step(
            done=True,
            detail=_sentence("The archive", of, "was read back whole and matched its checksum"),
            at=verified.verified_at,
            host_id=verified.host_id,
            plan_id=verified.plan_id,
            artifact_id=verified.id,
        )
    # The newest archive a person can verify now: kept, and still on its host.
    candidate = await db.scalar(
        select(Artifact)
        .where(Artifact.state == ArtifactState.AVAILABLE, Artifact.local_present)
        .order_by(Artifact.created_at.desc(), Artifact.id.desc())
        .limit(1)
    )
    if candidate is None:
        return step(done=False, detail="No archive has passed verification yet: verify one once a backup has run")
    return step(
        done=False,
        detail="No archive has passed verification yet: verify the newest one to prove it reads back whole",
        host_id=candidate.host_id,
        plan_id=candidate.plan_id,
        artifact_id=candidate.id,
    )


STEPS: tuple[Step, ...] = (_host_online, _storage_target, _first_plan, _first_backup, _first_verified_backup)
"""The checklist in the order a new user works through it."""


async def _plan_name(installation: Installation, artifact: Artifact) -> str | None:
    if artifact.plan_id is None:
        return None
    for plan in installation.plans:
        if plan.id == artifact.plan_id:
            return plan.name
    return await installation.db.scalar(select(Plan.name).where(Plan.id == artifact.plan_id))


def _first_enabled(plans: Sequence[Plan]) -> Plan | None:
    """The enabled plan created first (by name among equals)."""
    return min((plan for plan in plans if plan.enabled), key=lambda plan: (plan.created_at, plan.name), default=None)


def _last_heard(hosts: Sequence[HostOut]) -> HostOut:
    return max(hosts, key=lambda host: host.heartbeat_at or host.first_seen_at)


def _sentence(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")
