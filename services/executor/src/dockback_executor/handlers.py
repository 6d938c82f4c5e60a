"""The executor's JetStream subscribers: thin, each with its ack policy chosen on purpose.

Every handler turns the outcome of a job into exactly one of:
- ack: the job succeeded; or failed permanently and `JobFailed` was published; or a user
  cancelled it (before it started, or while it ran: its cleanup has run) and
  `JobCancelled` was published, so it never runs again;
- nack with a delay (RetryPolicy): a transient error, while the retry budget lasts;
- nack after HAND_BACK_SECONDS: the executor is shutting down and the job did not finish within
  the grace period (its cleanup has run), or it arrived during the shutdown and never started.
While a job runs, an in-progress ack every ack_wait/3 keeps it from being redelivered.
Malformed messages never reach a handler: validation fails before it and the subscriber's
REJECT_ON_ERROR policy terminates them (logged), since no retry can fix them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.base import JobKind, JobPhase
from dockback_contracts.snapshots import JobCancellation
from dockback_contracts.streams import ConsumerSpec
from dockback_executor.announce import Announcer
from dockback_executor.backup import BackupService
from dockback_executor.cancels import Cancellations
from dockback_executor.restore import RestoreService
from dockback_executor.running_jobs import RunningJobs
from dockback_runtime.delivery import keep_alive
from dockback_runtime.jobs.errors import JobError, TransientError
from dockback_runtime.logs import bind_job
from dockback_runtime.metrics import job_metrics

log = logging.getLogger(__name__)

HAND_BACK_SECONDS = 5.0
"""Delay of a job handed back at shutdown: long enough for this process to stop fetching, so the
next executor (or this one, restarted) takes it, not the one going away."""

Request = TypeVar("Request", bound=ev.JobEvent)


class JobRunner:
    """Runs one job for a handler and settles its message."""

    def __init__(self, announcer: Announcer, cancellations: Cancellations | None = None) -> None:
        self.announcer = announcer
        self.cancellations = cancellations
        self.jobs = RunningJobs()
        self.stopping = False

    async def settle(
        self,
        request: Request,
        msg: NatsMessage,
        spec: ConsumerSpec,
        kind: JobKind,
        phase: JobPhase,
        job: Callable[[Request, int], Awaitable[Any]],
    ) -> None:
        bind_job(str(request.job_id))  # every line logged from here on in this task carries the job id
        with job_metrics("executor", kind) as result:
            result.outcome = await self._settle(request, msg, spec, kind, phase, job)

    async def _settle(
        self,
        request: Request,
        msg: NatsMessage,
        spec: ConsumerSpec,
        kind: JobKind,
        phase: JobPhase,
        job: Callable[[Request, int], Awaitable[Any]],
    ) -> str:
        """Run the job and settle its message; return the attempt's outcome (metrics)."""
        attempt = msg.raw_message.metadata.num_delivered
        if self.stopping:  # fetched while shutting down: not ours to start
            await self._hand_back(request, msg, kind, "the executor is stopping")
            return "handed_back"
        # Registered before the lookup: a cancellation put from now on reaches the job through the watch.
        with self.jobs.running(request.job_id, kind) as running:
            try:
                cancellation = await self.cancellations.lookup(request.job_id) if self.cancellations else None
                if cancellation is not None:
                    running.cancellable = False
                    await self._cancelled(request, kind, "queued", cancellation, spec)
                    return "cancelled"
                async with keep_alive(msg.in_progress, spec.keep_alive_interval):
                    await job(request, attempt)
                    running.cancellable = False  # done: a cancellation arriving now changes nothing
                return "succeeded"
            except asyncio.CancelledError:
                task = asyncio.current_task()
                assert task is not None
                if running.cancelled_by is None or task.uncancel() > 0:
                    # shutdown: the job's cleanup has run; hand it back to be redone
                    await self._hand_back(request, msg, kind, "the shutdown grace period ended")
                    raise
                running.cancellable = False
                await self._cancelled(request, kind, running.phase, running.cancelled_by, spec)
                return "cancelled"
            except TransientError as exc:
                running.cancellable = False
                await self._retry_or_fail(request, msg, spec, kind, phase, exc, attempt)
            except JobError as exc:
                running.cancellable = False
                log.warning("%s job %s failed: %s", kind, request.job_id, exc)
                await self._fail(request, kind, phase, str(exc), retryable=False, spec=spec, attempt=attempt)
            except Exception as exc:  # a bug or an error we did not foresee: retry, then fail with what we know
                running.cancellable = False
                log.exception("%s job %s raised unexpectedly", kind, request.job_id)
                await self._retry_or_fail(request, msg, spec, kind, phase, exc, attempt)
        return "failed"  # JobFailed published (a retry leaves by NackMessage)

    def cancel(self, cancellation: JobCancellation) -> None:
        """A user cancelled a job: stop it if it runs here (its cleanup runs, then its message is acked)."""
        self.jobs.cancel(cancellation)

    async def finish_or_cancel(self, grace_seconds: float) -> None:
        """Shutdown: let running jobs finish for a while, then cancel the rest. A cancelled job
        restarts what it stopped (in its `finally`), removes its partial archive and hands its
        message back (a nack after HAND_BACK_SECONDS), so the next executor does it again.
        Jobs fetched from now on are handed back without starting."""
        self.stopping = True
        if self.jobs.tasks():
            await asyncio.wait(self.jobs.tasks(), timeout=grace_seconds)
        tasks = self.jobs.tasks()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _hand_back(self, request: ev.JobEvent, msg: NatsMessage, kind: JobKind, why: str) -> None:
        log.warning("%s job %s handed back (%s): redelivered in %.0fs", kind, request.job_id, why, HAND_BACK_SECONDS)
        try:
            await asyncio.wait_for(msg.nack(delay=HAND_BACK_SECONDS), 5)
        except Exception:  # no connection: the message comes back after its ack wait anyway
            log.warning("could not hand back %s job %s", kind, request.job_id, exc_info=True)

    async def _cancelled(
        self, request: ev.JobEvent, kind: JobKind, phase: JobPhase, cancellation: JobCancellation, spec: ConsumerSpec
    ) -> None:
        log.info("%s job %s cancelled by %s in phase %s", kind, request.job_id, cancellation.requested_by, phase)
        cancelled = ev.JobCancelled(
            job_id=request.job_id,
            host_id=request.host_id,
            kind=kind,
            phase=phase,
            reason=f"cancelled by {cancellation.requested_by}",
        )
        try:
            await self.announcer.publish(cancelled)
        except TransientError:
            # Without the JobCancelled the job would look alive forever: keep the message until we can say it.
            raise NackMessage(delay=spec.retry.delay_after(1) or 5.0) from None

    async def _retry_or_fail(
        self,
        request: ev.JobEvent,
        msg: NatsMessage,
        spec: ConsumerSpec,
        kind: JobKind,
        phase: JobPhase,
        exc: Exception,
        attempt: int,
    ) -> None:
        delay = spec.retry.delay_after(attempt)
        if delay is not None:
            log.warning(
                "%s job %s attempt %d failed (%s); retrying in %.0fs", kind, request.job_id, attempt, exc, delay
            )
            raise NackMessage(delay=delay)
        await self._fail(
            request,
            kind,
            phase,
            f"{exc} (gave up after {attempt} attempts)",
            retryable=True,
            spec=spec,
            attempt=attempt,
        )

    async def _fail(
        self,
        request: ev.JobEvent,
        kind: JobKind,
        phase: JobPhase,
        reason: str,
        *,
        retryable: bool,
        spec: ConsumerSpec,
        attempt: int,
    ) -> None:
        resource = getattr(request, "resource", None)
        failed = ev.JobFailed(
            job_id=request.job_id,
            host_id=request.host_id,
            kind=kind,
            phase=phase,
            reason=reason,
            retryable=retryable,
            plan_id=getattr(request, "plan_id", None),
            resource=resource if isinstance(resource, ev.ResourceRef) else None,
        )
        try:
            await self.announcer.publish(failed)
        except TransientError:
            # Without the JobFailed nobody would hear of the failure: keep the job until we can say it.
            raise NackMessage(delay=spec.retry.delay_after(1) or 5.0) from None


def register(
    broker: NatsBroker,
    host_id: str,
    runner: JobRunner,
    backups: BackupService,
    restores: RestoreService,
    max_workers: int,
    ack_wait: float,
    retry: streams.RetryPolicy | None = None,
) -> list[ConsumerSpec]:
    """Subscribe to this host's requests; returns the consumers to create before starting."""

    def spec_for(request_type: type[ev.Event]) -> ConsumerSpec:
        spec = streams.executor_consumer(host_id, request_type).with_ack_wait(ack_wait)
        return spec.with_retry(retry) if retry is not None else spec

    backup_spec = spec_for(ev.BackupRequested)
    restore_spec = spec_for(ev.RestoreRequested)
    verify_spec = spec_for(ev.VerifyRequested)

    def subscribe(spec: ConsumerSpec, handler: Callable[[Any, NatsMessage], Awaitable[None]]) -> None:
        broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=spec.config,
            pull_sub=PullSub(batch_size=1, timeout=5.0),
            max_workers=max_workers,
            ack_policy=AckPolicy.REJECT_ON_ERROR,  # reached only by messages that fail validation: see module doc
            description=handler.__doc__,
        )(handler)

    async def on_backup_requested(event: ev.BackupRequested, msg: NatsMessage) -> None:
        """Archive the requested resource, or every resource the plan's targets select, on this host."""
        await runner.settle(event, msg, backup_spec, "backup", "archive", backups.run)

    async def on_restore_requested(event: ev.RestoreRequested, msg: NatsMessage) -> None:
        """Verify, then restore an archive into its target."""
        await runner.settle(event, msg, restore_spec, "restore", "restore", restores.run)

    async def on_verify_requested(event: ev.VerifyRequested, msg: NatsMessage) -> None:
        """Check an archive's checksum and structure without restoring it."""
        await runner.settle(event, msg, verify_spec, "verify", "verify", restores.verify)

    subscribe(backup_spec, on_backup_requested)
    subscribe(restore_spec, on_restore_requested)
    subscribe(verify_spec, on_verify_requested)
    return [backup_spec, restore_spec, verify_spec]
