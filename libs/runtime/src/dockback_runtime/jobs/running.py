"""The jobs this worker process is working on now: for heartbeats, cancellation and shutdown.

A job registers itself for as long as its handler holds the message. The job's own code
reports how far it got with `enter_phase` and marks where stopping would do harm with
`point_of_no_return` (a restore that has begun swapping data in). Both reach the job
through a context variable, so the services keep their plain `run(request, attempt)` and
are no-ops outside a handler (tests that call a service directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dockback_contracts.base import JobKind, JobPhase
from dockback_contracts.snapshots import JobCancellation

log = logging.getLogger(__name__)


@dataclass(eq=False)
class RunningJob:
    """One job in progress in this process."""

    job_id: UUID
    kind: JobKind
    task: asyncio.Task[Any]
    phase: JobPhase = "queued"
    cancellable: bool = True
    cancelled_by: JobCancellation | None = None
    declined: JobCancellation | None = field(default=None, repr=False)
    steps: set[UUID] = field(default_factory=set)
    """Jobs of their own this job runs as a step (a restore's backup of the current data, taken
    first): listed with it, and a user cancelling one of them cancels this job."""


_current: ContextVar[RunningJob | None] = ContextVar("dockback_running_job", default=None)


def enter_phase(phase: JobPhase) -> None:
    """Record the phase the current job has reached (named in JobCancelled)."""
    job = _current.get()
    if job is not None:
        job.phase = phase


def point_of_no_return() -> None:
    """From here on the current job runs to its end: a cancellation would leave things half done.

    A cancellation already requested is raised here, before anything irreversible happens.
    """
    job = _current.get()
    if job is None:
        return
    if job.cancelled_by is not None:
        raise asyncio.CancelledError
    job.cancellable = False


@contextlib.contextmanager
def step_of_its_own(job_id: UUID) -> Iterator[None]:
    """Run the block as job `job_id`, a step of the current job with a job id of its own: the
    heartbeat lists it, and cancelling it cancels the current job (see RunningJob.steps)."""
    job = _current.get()
    if job is None:
        yield
        return
    job.steps.add(job_id)
    try:
        yield
    finally:
        job.steps.discard(job_id)


def cancelled_by_user() -> bool:
    """Whether the current job is being cancelled by a user (not by a shutdown)."""
    return user_cancellation() is not None


def user_cancellation() -> JobCancellation | None:
    """The user's cancellation of the current job, when one is stopping it (None: not, or a shutdown)."""
    job = _current.get()
    return None if job is None else job.cancelled_by


def current_phase() -> JobPhase | None:
    """The phase the current job has reached (None outside a job)."""
    job = _current.get()
    return None if job is None else job.phase


class RunningJobs:
    """The registry of this process's running jobs."""

    def __init__(self) -> None:
        self._jobs: set[RunningJob] = set()

    @contextlib.contextmanager
    def running(self, job_id: UUID, kind: JobKind) -> Iterator[RunningJob]:
        """Register the current task as working on `job_id` for the block."""
        task = asyncio.current_task()
        assert task is not None
        job = RunningJob(job_id, kind, task)
        token = _current.set(job)
        self._jobs.add(job)
        try:
            yield job
        finally:
            self._jobs.discard(job)
            _current.reset(token)

    def ids(self) -> tuple[UUID, ...]:
        """The ids of the jobs running now, each once."""
        return tuple(dict.fromkeys(i for job in self._jobs for i in (job.job_id, *sorted(job.steps, key=str))))

    def tasks(self) -> list[asyncio.Task[Any]]:
        return [job.task for job in self._jobs]

    def __len__(self) -> int:
        return len(self._jobs)

    def cancel(self, cancellation: JobCancellation) -> bool:
        """Cancel the job a user cancelled, if it runs here and can still stop; True if it will."""
        cancelling = False
        for job in list(self._jobs):
            if cancellation.job_id not in (job.job_id, *job.steps) or job.cancelled_by is not None:
                continue
            if not job.cancellable:
                if job.declined is None:
                    log.warning(
                        "job %s was cancelled by %s while in a step that must not be interrupted; it runs to its end",
                        job.job_id,
                        cancellation.requested_by,
                    )
                job.declined = cancellation
                continue
            log.info(
                "cancelling job %s (%s, phase %s) for %s", job.job_id, job.kind, job.phase, cancellation.requested_by
            )
            job.cancelled_by = cancellation
            job.task.cancel()
            cancelling = True
        return cancelling
