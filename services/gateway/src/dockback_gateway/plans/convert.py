"""A plan row in the contracts' terms: its snapshot for the scheduler, its backup request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dockback_contracts import events as ev
from dockback_contracts.snapshots import LocalCopies, PlanSnapshot, RetentionPolicy
from dockback_gateway.plans.models import Plan

_TARGETS: dict[tuple[uuid.UUID, int], tuple[ev.TargetSelector, ...]] = {}
_TARGETS_KEPT = 20_000  # plans' parsed targets kept (a full catalog has 1,000 plans)


def targets_of(plan: Plan) -> tuple[ev.TargetSelector, ...]:
    return parsed_targets(plan.id, plan.revision, plan.targets)


def parsed_targets(plan_id: uuid.UUID, revision: int, targets: list[Any]) -> tuple[ev.TargetSelector, ...]:
    """A plan's selectors from its stored `targets`, parsed once per revision (every change of a
    plan raises its revision; the dashboard and the resource views read every plan's on each
    request)."""
    key = (plan_id, revision)
    parsed = _TARGETS.get(key)
    if parsed is None:
        parsed = tuple(ev.TargetSelector.model_validate(t, strict=False) for t in targets)
        if plan_id is not None and revision is not None:  # a plan not yet flushed has neither
            if len(_TARGETS) >= _TARGETS_KEPT:
                _TARGETS.clear()
            _TARGETS[key] = parsed
    return parsed


def options_of(plan: Plan) -> ev.BackupOptions:
    return ev.BackupOptions.model_validate(plan.options, strict=False)


def retention_of(plan: Plan) -> RetentionPolicy:
    return RetentionPolicy.model_validate(plan.retention, strict=False)


def local_copies_of(plan: Plan) -> LocalCopies:
    # A row written before 0008 through an ORM without the column's default reads as None.
    return LocalCopies.model_validate(plan.local_copies or {}, strict=False)


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
