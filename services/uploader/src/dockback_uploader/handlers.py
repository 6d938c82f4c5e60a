"""The uploader's JetStream subscribers: thin, each with its ack policy chosen on purpose.

A handler settles its message in exactly one way:
- ack: the job succeeded, or failed permanently and `JobFailed` was published;
- nack with a delay (RetryPolicy): a transient error, while the retry budget lasts; after
  it, `JobFailed(retryable=True)` and ack;
- nack after HAND_BACK_SECONDS: the uploader is shutting down and the job did not finish within
  the grace period, or it arrived during the shutdown (no answer at all if the process dies).
Malformed messages never reach a handler: validation fails before it and the subscriber's
REJECT_ON_ERROR policy terminates them (logged), since no retry can fix them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.base import JobKind, JobPhase
from dockback_contracts.control import CheckResult, CheckTarget
from dockback_contracts.streams import ConsumerSpec
from dockback_runtime.delivery import keep_alive
from dockback_runtime.jobs.errors import JobError, TransientError
from dockback_runtime.logs import bind_job
from dockback_runtime.metrics import job_metrics
from dockback_uploader.announce import Announcer
from dockback_uploader.check import TargetCheck
from dockback_uploader.fetch import FetchService
from dockback_uploader.prune import PruneService
from dockback_uploader.upload import UploadService

log = logging.getLogger(__name__)

Request = TypeVar("Request", bound=ev.JobEvent)

HAND_BACK_SECONDS = 5.0
"""Delay of a job handed back at shutdown: long enough for this process to stop fetching."""


class JobRunner:
    """Runs one job for a handler and settles its message."""

    def __init__(self, announcer: Announcer) -> None:
        self.announcer = announcer
        self.stopping = False
        self._running: set[asyncio.Task[Any]] = set()

    async def finish_or_hand_back(self, grace_seconds: float) -> None:
        """Shutdown: let running jobs finish for `grace_seconds`, then cancel the rest, which hand
        their messages back (a nack after HAND_BACK_SECONDS). Jobs fetched from now on are handed
        back without starting."""
        self.stopping = True
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace_seconds)
        late = set(self._running)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _hand_back(self, request: ev.JobEvent, msg: NatsMessage, kind: JobKind, why: str) -> None:
        log.warning("%s job %s handed back (%s): redelivered in %.0fs", kind, request.job_id, why, HAND_BACK_SECONDS)
        try:
            await asyncio.wait_for(msg.nack(delay=HAND_BACK_SECONDS), 5)
        except Exception:  # no connection: the message comes back after its ack wait anyway
            log.warning("could not hand back %s job %s", kind, request.job_id, exc_info=True)

    async def settle(
        self,
        request: Request,
        msg: NatsMessage,
        spec: ConsumerSpec,
        kind: JobKind,
        phase: JobPhase,
        job: Callable[[Request], Awaitable[None]],
    ) -> None:
        bind_job(str(request.job_id))  # every line logged from here on in this task carries the job id
        attempt = msg.raw_message.metadata.num_delivered
        if self.stopping:  # fetched while shutting down: not ours to start
            await self._hand_back(request, msg, kind, "the uploader is stopping")
            return
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        with job_metrics("uploader", kind) as result:
            try:
                async with keep_alive(msg.in_progress, spec.keep_alive_interval):
                    await job(request)
            except asyncio.CancelledError:
                if self.stopping:  # the grace period ended: the job's cleanup has run, hand it back
                    await self._hand_back(request, msg, kind, "the shutdown grace period ended")
                raise
            except TransientError as exc:
                result.outcome = "failed"  # unless the retry below leaves by NackMessage
                await self._retry_or_fail(request, spec, kind, phase, exc, attempt)
            except JobError as exc:
                result.outcome = "failed"
                log.warning("%s job %s failed: %s", kind, request.job_id, exc)
                await self._fail(request, kind, phase, str(exc), retryable=False, spec=spec)
            except Exception as exc:  # a bug or an OS error we did not foresee: retry, then fail with what we know
                result.outcome = "failed"
                log.exception("%s job %s raised unexpectedly", kind, request.job_id)
                await self._retry_or_fail(request, spec, kind, phase, exc, attempt)
            finally:
                self._running.discard(task)

    async def _retry_or_fail(
        self, request: ev.JobEvent, spec: ConsumerSpec, kind: JobKind, phase: JobPhase, exc: Exception, attempt: int
    ) -> None:
        delay = spec.retry.delay_after(attempt)
        if delay is not None:
            log.warning(
                "%s job %s attempt %d failed (%s); retrying in %.1fs", kind, request.job_id, attempt, exc, delay
            )
            raise NackMessage(delay=delay)
        reason = f"{exc} (gave up after {attempt} attempts)"
        await self._fail(request, kind, phase, reason, retryable=True, spec=spec)

    async def _fail(
        self, request: ev.JobEvent, kind: JobKind, phase: JobPhase, reason: str, *, retryable: bool, spec: ConsumerSpec
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


@dataclass(frozen=True)
class Services:
    prunes: PruneService
    uploads: UploadService
    fetches: FetchService
    checks: TargetCheck


def register(
    broker: NatsBroker,
    host_id: str,
    runner: JobRunner,
    services: Services,
    ack_wait: float,
    retry: streams.RetryPolicy | None = None,
) -> list[ConsumerSpec]:
    """Subscribe to this host's requests; returns the consumers to create before starting."""

    def spec_of(spec: ConsumerSpec) -> ConsumerSpec:
        spec = spec.with_ack_wait(ack_wait)
        return spec.with_retry(retry) if retry is not None else spec

    prune_spec = spec_of(streams.uploader_prune_consumer(host_id))
    archive_spec = spec_of(streams.uploader_archive_consumer(host_id))
    fetch_spec = spec_of(streams.uploader_fetch_consumer(host_id))
    prunes = services.prunes

    def subscribe(spec: ConsumerSpec, handler: Callable[[Any, NatsMessage], Awaitable[None]]) -> None:
        broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=spec.config,
            pull_sub=PullSub(batch_size=1, timeout=5.0),
            ack_policy=AckPolicy.REJECT_ON_ERROR,  # reached only by messages that fail validation: see module doc
            description=handler.__doc__,
        )(handler)

    async def on_prune_requested(event: ev.PruneRequested, msg: NatsMessage) -> None:
        """Delete this host's copies of the listed artifacts, after proving each is in the request's scope."""
        await runner.settle(event, msg, prune_spec, "prune", "prune", prunes.run)

    subscribe(prune_spec, on_prune_requested)

    async def on_archive_created(event: ev.ArchiveCreated, msg: NatsMessage) -> None:
        """Copy a new archive to each of its S3 targets, verify each copy, announce UploadCompleted."""
        await runner.settle(event, msg, archive_spec, "backup", "upload", services.uploads.run)

    subscribe(archive_spec, on_archive_created)

    async def on_fetch_requested(event: ev.FetchRequested, msg: NatsMessage) -> None:
        """Download an archive from a remote copy, verify it, then hand its restore to the executor."""
        await runner.settle(event, msg, fetch_spec, "restore", "prepare", services.fetches.run)

    subscribe(fetch_spec, on_fetch_requested)

    async def on_check_target(request: CheckTarget) -> CheckResult:
        """Say whether an S3 target is reachable with its credentials and its bucket exists."""
        return await services.checks.run(request)

    broker.subscriber(subjects.CHECK_TARGET, queue="uploaders", description=on_check_target.__doc__)(on_check_target)
    return [prune_spec, archive_spec, fetch_spec]
