"""Running one job from a JetStream request and settling its message: the ack policy of every
job worker (executor, uploader), written down once.

Every job ends in exactly one of:
- ack: the job succeeded; or failed permanently and `JobFailed` was published; or a user
  cancelled it (before it started, or while it ran: its cleanup has run) and `JobCancelled`
  was published, so it never runs again;
- nack with a delay (the consumer's RetryPolicy): a transient error, while the retry budget
  lasts; after it, `JobFailed(retryable=True)` and ack;
- nack after HAND_BACK_SECONDS: the worker is shutting down and the job did not finish within
  the grace period (its cleanup has run), or it arrived during the shutdown and never started.
While a job runs, an in-progress ack every ack_wait/3 keeps it from being redelivered. An error
that no retry can heal (a PermanentError, or an OS error such as a full disk or a name too long)
fails the job at once. Malformed messages never reach a job: validation fails before it and the
subscriber's REJECT_ON_ERROR policy terminates them (logged), since no retry can fix them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream.exceptions import NackMessage
from faststream.nats import NatsMessage

from dockback_contracts import events as ev
from dockback_contracts.base import JobKind, JobPhase
from dockback_contracts.snapshots import JobCancellation
from dockback_contracts.streams import ConsumerSpec
from dockback_runtime.delivery import keep_alive
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.cancellations import Cancellations
from dockback_runtime.jobs.errors import JobError, TransientError, describe_os_error, os_error_is_permanent
from dockback_runtime.jobs.running import RunningJobs
from dockback_runtime.logs import bind_job
from dockback_runtime.metrics import job_metrics

log = logging.getLogger(__name__)

HAND_BACK_SECONDS = 5.0
"""Delay of a job handed back at shutdown: long enough for this process to stop fetching, so the
next worker (or this one, restarted) takes it, not the one going away."""

Request = TypeVar("Request", bound=ev.JobEvent)
Job = Callable[[Request, int], Awaitable[Any]]
"""A job's work: called with the request and the attempt (1 for the first delivery)."""


class JobRunner:
    """Runs one job for a handler and settles its message."""

    def __init__(self, service: str, announcer: Announcer, cancellations: Cancellations | None = None) -> None:
        self.service = service
        self.announcer = announcer
        self.cancellations = cancellations
        self.jobs = RunningJobs()
        self.stopping = False

    async def settle(
        self, request: Request, msg: NatsMessage, spec: ConsumerSpec, kind: JobKind, phase: JobPhase, job: Job[Request]
    ) -> None:
        """Run `job` for `request` and settle `msg` by the module's rules."""
        bind_job(str(request.job_id))  # every line logged from here on in this task carries the job id
        with job_metrics(self.service, kind) as result:
            result.outcome = await self._settle(request, msg, spec, kind, phase, job)

    async def _settle(
        self, request: Request, msg: NatsMessage, spec: ConsumerSpec, kind: JobKind, phase: JobPhase, job: Job[Request]
    ) -> str:
        """Run the job and settle its message; return the attempt's outcome (metrics)."""
        attempt = msg.raw_message.metadata.num_delivered
        if self.stopping:  # fetched while shutting down: not ours to start
            await self._hand_back(request, msg, kind, f"the {self.service} is stopping")
            return "handed_back"
        # Registered before the lookup: a cancellation put from now on reaches the job through the watch.
        with self.jobs.running(request.job_id, kind) as running:
            try:
                cancellation = await self.cancellations.lookup(request.job_id) if self.cancellations else None
                if cancellation is not None:
                    running.cancellable = False
                    await self._cancelled(request, kind, "queued", cancellation, spec)
                    return "cancelled"
                running.phase = phase  # the handler's phase, until the job's work names a finer one
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
                await self._retry_or_fail(request, spec, kind, phase, exc, attempt)
            except JobError as exc:
                running.cancellable = False
                log.warning("%s job %s failed: %s", kind, request.job_id, exc)
                output = getattr(exc, "output", None)
                await self._fail(request, kind, phase, str(exc), retryable=False, spec=spec, output=output)
            except Exception as exc:
                running.cancellable = False
                if isinstance(exc, OSError) and os_error_is_permanent(exc):  # a full disk: no retry heals it
                    reason = describe_os_error(exc)
                    log.warning("%s job %s failed: %s", kind, request.job_id, reason)
                    await self._fail(request, kind, phase, reason, retryable=False, spec=spec)
                else:  # a bug or an error we did not foresee: retry, then fail with what we know
                    log.exception("%s job %s raised unexpectedly", kind, request.job_id)
                    await self._retry_or_fail(request, spec, kind, phase, exc, attempt)
        return "failed"  # JobFailed published (a retry leaves by NackMessage)

    def cancel(self, cancellation: JobCancellation) -> None:
        """A user cancelled a job: stop it if it runs here (its cleanup runs, then its message is acked)."""
        self.jobs.cancel(cancellation)

    async def finish_or_hand_back(self, grace_seconds: float) -> None:
        """Shutdown: let running jobs finish for `grace_seconds`, then cancel the rest. A cancelled
        job runs its cleanup (restarts what it stopped, removes what it half wrote) and hands its
        message back (a nack after HAND_BACK_SECONDS), so the next worker does it again. Jobs
        fetched from now on are handed back without starting."""
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
        await self._announce_or_keep(cancelled, spec)

    async def _retry_or_fail(
        self, request: ev.JobEvent, spec: ConsumerSpec, kind: JobKind, phase: JobPhase, exc: Exception, attempt: int
    ) -> None:
        delay = spec.retry.delay_after(attempt)
        if delay is not None:
            log.warning(
                "%s job %s attempt %d failed (%s); retrying in %.0fs", kind, request.job_id, attempt, exc, delay
            )
            raise NackMessage(delay=delay)
        reason = f"{exc} (gave up after {attempt} attempts)"
        await self._fail(request, kind, phase, reason, retryable=True, spec=spec)

    async def _fail(
        self,
        request: ev.JobEvent,
        kind: JobKind,
        phase: JobPhase,
        reason: str,
        *,
        retryable: bool,
        spec: ConsumerSpec,
        output: str | None = None,
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
            output=output[-16384:] if output else None,
        )
        await self._announce_or_keep(failed, spec)

    async def _announce_or_keep(self, event: ev.Event, spec: ConsumerSpec) -> None:
        """Publish a job's end; if NATS does not take it, keep the message (a nack) until it can be said:
        without it the job would look alive forever, and nobody would hear of a failure."""
        try:
            await self.announcer.publish(event)
        except TransientError:
            raise NackMessage(delay=spec.retry.delay_after(1) or 5.0) from None
