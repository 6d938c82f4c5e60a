"""Missed runs: a plan slot that produced no job (and that no RunMissed reported) after the
plan's grace and a margin. The reconciler's pass checks each live, enabled plan's slots since
the last pass, within a budget, and reports each gap once: a `missed_runs` row and one
`RunMissed` through the outbox, so the notifier alerts."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_contracts.schedule import fire_times
from dockback_gateway.jobs.models import Job, MissedRun
from dockback_gateway.outbox.service import enqueue
from dockback_gateway.plans.models import Plan

if TYPE_CHECKING:
    from dockback_gateway.jobs.reconciler import Deadlines

log = logging.getLogger(__name__)

_ID_CHUNK = 1000


@dataclass
class PassReport:
    """What one pass did (for logs and tests)."""

    failed: list[uuid.UUID] = field(default_factory=list)
    republished: list[uuid.UUID] = field(default_factory=list)
    cancelled: list[uuid.UUID] = field(default_factory=list)
    missed: list[tuple[uuid.UUID, datetime, int]] = field(default_factory=list)
    cancellations_rewritten: int = 0


@dataclass(frozen=True)
class PlanScan:
    """How far a plan's slots were checked (for this plan revision), and the gap being collected:
    uncovered slots found in passes whose window was longer than the scan limit are reported
    together, once the window is done, instead of one alert per pass."""

    updated_at: datetime
    checked_upto: datetime
    first: datetime | None = None
    last: datetime | None = None
    count: int = 0

    def with_missed(self, slot: datetime) -> PlanScan:
        return replace(self, first=self.first or slot, last=slot, count=self.count + 1)

    def reported(self) -> PlanScan:
        return replace(self, first=None, last=None, count=0)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MissedRuns:
    """The scan state of every plan between passes, and the scan itself."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self.scans: dict[uuid.UUID, PlanScan] = {}

    def keep(self, scans: dict[uuid.UUID, PlanScan]) -> None:
        """The scan state of a pass whose reports were committed."""
        self.scans = scans

    async def scan(self, db: AsyncSession, now: datetime, report: PassReport) -> dict[uuid.UUID, PlanScan]:
        """Check each live, enabled plan's slots since the last pass (bounded per plan); returns
        the scan state to keep once the pass commits."""
        d = self.deadlines
        plans = (await db.scalars(select(Plan).where(Plan.deleted_at.is_(None), Plan.enabled.is_(True)))).all()
        work: list[tuple[Plan, PlanScan, list[datetime], bool, datetime]] = []
        scans: dict[uuid.UUID, PlanScan] = {}
        fresh = datetime.min.replace(tzinfo=UTC)
        # The plans checked longest ago first; once the pass's budget is spent, the rest wait
        # for the next pass (keeping what was checked so far).
        plans = sorted(plans, key=lambda p: s.checked_upto if (s := self.scans.get(p.id)) else fresh)
        budget = d.missed_pass_budget
        for plan in plans:
            end = now - timedelta(seconds=plan.missed_run_grace_seconds) - d.missed_margin
            start = max(plan.updated_at, now - d.missed_lookback)
            scan = self.scans.get(plan.id)
            if scan is None or scan.updated_at != plan.updated_at:
                scan = PlanScan(updated_at=plan.updated_at, checked_upto=start)
            start = max(start, scan.checked_upto)
            if end <= start:
                work.append((plan, scan, [], True, scan.checked_upto))
                continue
            if budget <= 0:
                scans[plan.id] = scan
                continue
            limit = min(d.missed_scan_limit, budget)
            try:
                # only the window's slots: computing `limit` of them past its end cost a pass of
                # 1,000 plans 100,000 cron steps (about 3 s of the gateway's CPU) every 30 s
                within = fire_times(plan.cron, plan.timezone, start, end, limit)
            except ValueError as exc:
                log.warning("reconciler: plan %s has a schedule that cannot be evaluated: %s", plan.id, exc)
                continue
            budget -= len(within)
            done = len(within) < limit  # the window's end reached (or the schedule's)
            work.append((plan, scan, within, done, end))

        slot_ids = [ev.scheduled_job_id(plan.id, s) for plan, _, within, _, _ in work for s in within]
        existing: set[uuid.UUID] = set()
        for chunk in _chunks(slot_ids, _ID_CHUNK):
            existing.update((await db.scalars(select(Job.id).where(Job.id.in_(chunk)))).all())
        reported: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
        plan_ids = [plan.id for plan, _, within, _, _ in work if within]
        for chunk in _chunks(plan_ids, _ID_CHUNK):
            rows = await db.execute(
                select(MissedRun.plan_id, MissedRun.scheduled_for, MissedRun.last_scheduled_for).where(
                    MissedRun.plan_id.in_(chunk)
                )
            )
            for plan_id, first, last in rows:
                reported.setdefault(plan_id, []).append((first, last or first))

        for plan, scan, within, done, end in work:
            gaps = reported.get(plan.id, [])
            for slot in within:
                if ev.scheduled_job_id(plan.id, slot) in existing or any(a <= slot <= b for a, b in gaps):
                    continue
                scan = scan.with_missed(slot)
            scan = replace(scan, checked_upto=end if done else (within[-1] if within else scan.checked_upto))
            if done and scan.count:
                await self._report(db, plan, scan, report)
                scan = scan.reported()
            scans[plan.id] = scan
        return scans

    async def _report(self, db: AsyncSession, plan: Plan, scan: PlanScan, report: PassReport) -> None:
        assert scan.first is not None
        assert scan.last is not None
        span = (
            f"the run of {scan.first.isoformat()}"
            if scan.count == 1
            else f"{scan.count} runs from {scan.first.isoformat()} to {scan.last.isoformat()}"
        )
        reason = f"{span} produced no job: the scheduler did not fire it or its request was lost"
        inserted = await db.execute(
            insert(MissedRun)
            .values(
                plan_id=plan.id,
                scheduled_for=scan.first,
                host_id=plan.host_id,
                missed_slots=scan.count,
                last_scheduled_for=scan.last if scan.count > 1 else None,
                reason=reason,
            )
            .on_conflict_do_nothing(index_elements=[MissedRun.plan_id, MissedRun.scheduled_for])
            .returning(MissedRun.plan_id)
        )
        if inserted.scalar_one_or_none() is None:
            return  # the scheduler reported this gap already
        enqueue(
            db,
            ev.RunMissed(
                host_id=plan.host_id,
                plan_id=plan.id,
                plan_name=plan.name,
                scheduled_for=scan.first,
                missed_slots=scan.count,
                last_scheduled_for=scan.last if scan.count > 1 else None,
                reason=reason,
            ),
        )
        report.missed.append((plan.id, scan.first, scan.count))
