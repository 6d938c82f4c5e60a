"""A plan row in the contracts' terms: its snapshot for the scheduler, its backup request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from dockback_contracts import events as ev
from dockback_contracts.snapshots import LocalCopies, PlanSnapshot, RetentionPolicy
from dockback_gateway.plans.models import Plan

_PARSED: dict[tuple[Any, ...], Any] = {}
_PARSED_KEPT = 50_000  # values kept (a full catalog: 1,000 plans, four values each)


T = TypeVar("T")


def _once_per_revision(what: str, plan_id: uuid.UUID, revision: int, updated_at: datetime, parse: Callable[[], T]) -> T:
    """`parse()` of one of a plan's stored JSON values, done once per revision of the plan: every
    change of a plan raises its revision and sets its updated_at, and the plan list, the dashboard
    and the resource views read every plan's on each request. The time is in the key so that a
    change rolled back after a revision was raised in memory (and parsed) cannot stand for the next
    change committed with that revision. A plan not yet flushed is parsed each time."""
    if plan_id is None or revision is None or updated_at is None:
        return parse()
    key = (what, plan_id, revision, updated_at)
    try:
        return cast(T, _PARSED[key])
    except KeyError:
        value = _PARSED[key] = parse()
        if len(_PARSED) > _PARSED_KEPT:
            _PARSED.clear()
        return value


def targets_of(plan: Plan) -> tuple[ev.TargetSelector, ...]:
    return parsed_targets(plan.id, plan.revision, plan.updated_at, plan.targets)


def parsed_targets(
    plan_id: uuid.UUID, revision: int, updated_at: datetime, targets: list[Any]
) -> tuple[ev.TargetSelector, ...]:
    """A plan's selectors from its stored `targets` (for a query that read only those columns)."""
    return _once_per_revision(
        "targets",
        plan_id,
        revision,
        updated_at,
        lambda: tuple(ev.TargetSelector.model_validate(t, strict=False) for t in targets),
    )


def options_of(plan: Plan) -> ev.BackupOptions:
    return _once_per_revision(
        "options",
        plan.id,
        plan.revision,
        plan.updated_at,
        lambda: ev.BackupOptions.model_validate(plan.options, strict=False),
    )


def retention_of(plan: Plan) -> RetentionPolicy:
    return _once_per_revision(
        "retention",
        plan.id,
        plan.revision,
        plan.updated_at,
        lambda: RetentionPolicy.model_validate(plan.retention, strict=False),
    )


def local_copies_of(plan: Plan) -> LocalCopies:
    # A row written before 0008 through an ORM without the column's default reads as None.
    return _once_per_revision(
        "local_copies",
        plan.id,
        plan.revision,
        plan.updated_at,
        lambda: LocalCopies.model_validate(plan.local_copies or {}, strict=False),
    )


def snapshot_of(plan: Plan) -> PlanSnapshot:
    """What the scheduler needs to fire `plan` (a deleted plan has no snapshot: its key is deleted)."""
    return PlanSnapshot(
        plan_id=plan.id,
        revision=plan.revision,
        name=plan.name,
        host_id=plan.host_id,
        enabled=plan.enabled,
        cron=plan.cron,
        timezone=plan.timezone,
        targets=targets_of(plan),
        options=options_of(plan),
        upload_targets=tuple(plan.upload_targets),
        retention=retention_of(plan),
        local_copies=local_copies_of(plan),
        verify_cron=plan.verify_cron,
        missed_run_grace_seconds=plan.missed_run_grace_seconds,
        updated_at=plan.updated_at,
    )


def backup_request_for(
    plan: Plan, job_id: uuid.UUID, *, requested_by: str | None = None, scheduled_for: datetime | None = None
) -> ev.BackupRequested:
    """The request that runs `plan` once, as job `job_id`."""
    return ev.BackupRequested(
        job_id=job_id,
        host_id=plan.host_id,
        plan_id=plan.id,
        targets=targets_of(plan),
        options=options_of(plan),
        upload_targets=tuple(plan.upload_targets),
        scheduled_for=scheduled_for,
        requested_by=requested_by,
    )
