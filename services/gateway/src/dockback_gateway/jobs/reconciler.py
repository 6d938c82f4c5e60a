"""Reconciliation: NATS can lose a message in a crash, Postgres is the record. Every pass:

- a queued job nobody started: if its host is offline (no heartbeat for three intervals)
  and has been for longer than `offline_host_deadline_seconds` since the job was queued,
  the job fails ("the job never started"); if the host is online and the job waited past
  `queued_job_deadline_seconds`, its stored request is published again under a new
  message id (the original may be lost, or spent its deliveries), up to `republish_limit`
  times, then it fails;
- a running job is alive while its host's heartbeat lists it or it sends events; silent for
  longer than `running_job_deadline_seconds`, it is published again (the executor's
  deterministic artifact ids make a rerun safe) or, past the limit, fails. No job stays
  running forever;
- a plan slot that produced no job (and that no RunMissed reported) after the plan's grace
  and a margin is a missed run (missed_runs.py): one `missed_runs` row and ONE `RunMissed`
  per gap, so the notifier alerts;
- a cancellation that never reached the cancellations bucket is written again.

Every job the reconciler fails gets a `JobFailed` through the outbox, in the transaction
that fails the row. One gateway replica reconciles at a time: each pass runs in one
transaction that first takes a Postgres advisory lock (try-lock: a replica that does not
get it skips the pass).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Union, get_args

from pydantic import Field, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts.base import JobPhase
from dockback_gateway.config import Settings
from dockback_gateway.jobs.cancels import Cancellations
from dockback_gateway.jobs.journal import announce, log_line
from dockback_gateway.jobs.liveness import host_online, last_heard_of
from dockback_gateway.jobs.missed_runs import MissedRuns, PassReport
from dockback_gateway.jobs.models import Job, JobStatus
from dockback_gateway.outbox.service import enqueue
from dockback_gateway.resources.models import Host

log = logging.getLogger(__name__)

_LOCK = 0x0D0C_5EC0
_JOB_BATCH = 500
_PHASES = frozenset(get_args(JobPhase))
_REQUEST: TypeAdapter[ev.Event] = TypeAdapter(
    Annotated[Union[ev.REQUESTS], Field(discriminator="type")]  # type: ignore[arg-type]  # noqa: UP007 - built at runtime
)


@dataclass(frozen=True)
class Deadlines:
    queued: timedelta
    offline: timedelta
    running: timedelta
    republish_limit: int
    missed_margin: timedelta
    missed_lookback: timedelta
    missed_scan_limit: int
    missed_pass_budget: int

    @classmethod
    def of(cls, settings: Settings) -> Deadlines:
        return cls(
            queued=timedelta(seconds=settings.queued_job_deadline_seconds),
            offline=timedelta(seconds=settings.offline_host_deadline_seconds),
            running=timedelta(seconds=settings.running_job_deadline_seconds),
            republish_limit=settings.republish_limit,
            missed_margin=timedelta(seconds=settings.missed_run_margin_seconds),
            missed_lookback=timedelta(seconds=settings.missed_run_lookback_seconds),
            missed_scan_limit=settings.missed_run_scan_limit,
            missed_pass_budget=settings.missed_run_pass_budget,
        )


def _ago(now: datetime, then: datetime) -> str:
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class Reconciler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        cancellations: Cancellations,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.interval = settings.reconcile_interval_seconds
        self.deadlines = Deadlines.of(settings)
        self.cancellations = cancellations
        self.clock = clock
        self.missed_runs = MissedRuns(self.deadlines)
        self.passes = 0  # completed passes of this gateway (tests wait on it)

    async def run(self) -> None:
        """A pass every `interval` seconds until cancelled; a failed pass is logged and retried."""
        while True:
            try:
                report = await self.reconcile_once()
                if report and (report.failed or report.republished or report.missed or report.cancelled):
                    log.info(
                        "reconciler: failed %d, republished %d, cancelled %d job(s); %d missed run(s)",
                        len(report.failed),
                        len(report.republished),
                        len(report.cancelled),
                        len(report.missed),
                    )
            except Exception:
                log.warning("reconciler pass failed; trying again in %.0fs", self.interval, exc_info=True)
            await asyncio.sleep(self.interval)

    async def reconcile_once(self) -> PassReport | None:
        """One pass; None if another gateway holds the reconciler's lock."""
        report = PassReport()
        now = self.clock()
        async with self.sessions.begin() as db:
            if not await db.scalar(select(func.pg_try_advisory_xact_lock(_LOCK))):
                return None
            await self._queued_jobs(db, now, report)
            await self._running_jobs(db, now, report)
            scans = await self.missed_runs.scan(db, now, report)
            cancels = (
                await db.execute(
                    select(Job.id, Job.cancel_requested_by, Job.created_at)
                    .where(Job.cancel_requested_by.is_not(None), Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                    .limit(_JOB_BATCH)
                )
            ).all()
        self.missed_runs.keep(scans)  # only once the pass's reports are committed
        self.passes += 1
        for job_id, by, created_at in cancels:
            try:
                report.cancellations_rewritten += await self.cancellations.ensure(job_id, str(by), created_at)
            except Exception as exc:
                log.warning("reconciler: could not check the cancellation of job %s: %s", job_id, exc)
        return report

    # -- jobs ---------------------------------------------------------------------------------

    async def _open_jobs(self, db: AsyncSession, status: JobStatus, quiet_since: datetime) -> list[Job]:
        """Open jobs in `status` with no sign of life since `quiet_since`, locked; a job the
        recorder holds right now is skipped (it is alive)."""
        sign_of_life = func.greatest(Job.created_at, Job.started_at, Job.last_event_at, Job.republished_at)
        query = (
            select(Job)
            .where(Job.status == status, sign_of_life < quiet_since)
            .order_by(Job.created_at)
            .limit(_JOB_BATCH)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list((await db.scalars(query)).all())

    async def _hosts(self, db: AsyncSession, jobs: Iterable[Job]) -> dict[str, Host]:
        host_ids = {j.host_id for j in jobs}
        if not host_ids:
            return {}
        return {h.host_id: h for h in (await db.scalars(select(Host).where(Host.host_id.in_(host_ids)))).all()}

    async def _queued_jobs(self, db: AsyncSession, now: datetime, report: PassReport) -> None:
        d = self.deadlines
        jobs = await self._open_jobs(db, JobStatus.QUEUED, now - min(d.queued, d.offline))
        hosts = await self._hosts(db, jobs)
        for job in jobs:
            host = hosts.get(job.host_id)
            waiting_since = max(t for t in (job.created_at, job.republished_at) if t is not None)
            if not host_online(host, now):
                heard = host.heartbeat_at if host is not None and host.heartbeat_at is not None else None
                silent_since = max(waiting_since, heard) if heard else waiting_since
                if now - silent_since > d.offline:
                    reason = f"host {job.host_id} is offline ({last_heard_of(host)}); the job never started"
                    await self._fail(db, job, now, reason, report)
                continue
            if now - waiting_since <= d.queued:
                continue
            if job.cancel_requested_by:
                await self._cancel(db, job, now, report)
            elif job.request is not None and job.republished < d.republish_limit:
                why = f"host {job.host_id} has not started it after {_ago(now, waiting_since)}"
                await self._republish(db, job, now, why, report)
            else:
                reason = (
                    f"host {job.host_id} did not start the job "
                    f"(published {job.republished + 1} time(s), last {_ago(now, waiting_since)} ago)"
                )
                await self._fail(db, job, now, reason, report)

    async def _running_jobs(self, db: AsyncSession, now: datetime, report: PassReport) -> None:
        d = self.deadlines
        jobs = await self._open_jobs(db, JobStatus.RUNNING, now - d.running)
        hosts = await self._hosts(db, jobs)
        for job in jobs:
            host = hosts.get(job.host_id)
            signs = [t for t in (job.created_at, job.started_at, job.last_event_at, job.republished_at) if t]
            if host is not None and host.heartbeat_at is not None and str(job.id) in map(str, host.running_job_ids):
                signs.append(host.heartbeat_at)
            last_sign = max(signs)
            if now - last_sign <= d.running:
                continue
            if job.cancel_requested_by:
                await self._cancel(db, job, now, report)
            elif job.request is not None and job.republished < d.republish_limit:
                why = f"host {job.host_id} stopped reporting on it since {last_sign.isoformat(timespec='seconds')}"
                await self._republish(db, job, now, why, report)
            else:
                reason = (
                    f"host {job.host_id} stopped reporting on the job since {last_sign.isoformat(timespec='seconds')}"
                    + (f" (published again {job.republished} time(s))" if job.republished else "")
                )
                await self._fail(db, job, now, reason, report)

    async def _republish(self, db: AsyncSession, job: Job, now: datetime, why: str, report: PassReport) -> None:
        """The stored request again, under a new message id (the first one is remembered by the stream)."""
        assert job.request is not None
        request = _REQUEST.validate_python(job.request)
        enqueue(db, request, message_id=uuid.uuid4())
        job.republished += 1
        job.republished_at = now
        await log_line(
            db,
            job.id,
            event_id=uuid.uuid4(),
            type_="reconciler.republished",
            occurred_at=now,
            message=f"{why}; request published again ({job.republished} of {self.deadlines.republish_limit})",
            data={"republished": job.republished},
        )
        report.republished.append(job.id)

    async def _fail(self, db: AsyncSession, job: Job, now: datetime, reason: str, report: PassReport) -> None:
        phase = job.phase if job.phase in _PHASES else "queued"
        resource = (
            ev.ResourceRef(kind=job.resource_kind, name=job.resource_name)  # type: ignore[arg-type]
            if job.resource_kind and job.resource_name
            else None
        )
        failed = ev.JobFailed(
            job_id=job.id,
            host_id=job.host_id,
            occurred_at=now,
            kind=job.kind,  # type: ignore[arg-type]
            phase=phase,  # type: ignore[arg-type]
            reason=reason,
            retryable=True,
            plan_id=job.plan_id,
            resource=resource,
        )
        enqueue(db, failed)
        job.status = JobStatus.FAILED
        job.error = reason
        job.retryable = True
        job.finished_at = now
        # The same event id as the JobFailed: when it comes back through the recorder it is not logged twice.
        await log_line(
            db,
            job.id,
            event_id=failed.event_id,
            type_=failed.type,
            occurred_at=now,
            message=f"failed in phase {phase}: {reason}",
            data=failed.model_dump(mode="json"),
        )
        announce(db, job)
        report.failed.append(job.id)

    async def _cancel(self, db: AsyncSession, job: Job, now: datetime, report: PassReport) -> None:
        """A job cancelled by a user that its host never picked up: it ends as the user asked."""
        job.status = JobStatus.CANCELLED
        job.error = f"cancelled by {job.cancel_requested_by}; the host never acted on it"
        job.finished_at = now
        await log_line(
            db,
            job.id,
            event_id=uuid.uuid4(),
            type_="reconciler.cancelled",
            occurred_at=now,
            message=job.error,
            data={"requested_by": job.cancel_requested_by},
        )
        announce(db, job)
        report.cancelled.append(job.id)
