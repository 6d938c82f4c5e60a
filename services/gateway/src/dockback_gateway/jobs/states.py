"""The jobs' state machine: how each fact about a job moves its row, as rules without I/O.

The recorder (`jobs.recording`) locks the row, logs the fact and writes what these rules
decide; they only read and set the row's fields, so they are tested without a database.

- A job moves queued -> running -> succeeded | failed | cancelled, and only forward: any
  sign of work starts a queued job; a finished job is never reopened, a late fact about it
  is logged (with a note saying so) and otherwise ignored.
- A backup ends when its last archive is recorded and every archive of it has a copy on
  every upload target (at once when it has none).
- Facts may come out of order: what a fact tells about the job (its resource, its upload
  targets, its first start) fills what is missing and never overwrites what is known.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from dockback_contracts import events as ev
from dockback_gateway.jobs.models import Job, JobStatus


def finished(job: Job) -> bool:
    return JobStatus(job.status).finished


def late_note(job: Job, *, verb: str = "after", ignored: bool = True) -> str:
    """What a fact arriving after the job ended adds to its log line, e.g. ` (after the job had
    been cancelled; ignored)`; empty while the job is open."""
    if not finished(job):
        return ""
    been = "been " if job.status == JobStatus.CANCELLED else ""
    return f" ({verb} the job had {been}{job.status}{'; ignored' if ignored else ''})"


def heard_at(job: Job, at: datetime) -> None:
    """A new fact about the job happened at `at`: the newest one is its last sign of life."""
    if job.last_event_at is None or at > job.last_event_at:
        job.last_event_at = at


def learn_resource(job: Job, resource: ev.ResourceRef | None) -> None:
    if job.resource_kind is None and resource is not None:
        job.resource_kind, job.resource_name = resource.kind, resource.name


def start_running(job: Job, at: datetime) -> None:
    """Any sign of work moves a queued job to running (its JobStarted may come later or never)."""
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.RUNNING
        if job.started_at is None:
            job.started_at = at


def started(job: Job, attempt: int, at: datetime) -> None:
    """An executor started attempt `attempt`: an open job runs from its earliest start."""
    job.attempts = max(job.attempts, attempt)
    if finished(job):
        return
    job.status = JobStatus.RUNNING
    job.started_at = min(job.started_at or at, at)
    if job.phase == "queued":
        job.phase = "prepare"


def archive_written(job: Job, at: datetime, *, last_of_job: bool, upload_targets: Iterable[str]) -> None:
    """One archive of a backup is written; after its last one an uploading backup waits for its copies."""
    if job.upload_targets is None:
        job.upload_targets = list(upload_targets)
    if last_of_job and job.archives_done_at is None:
        job.archives_done_at = at
    if finished(job):
        return
    start_running(job, at)
    job.phase = "upload" if last_of_job and job.upload_targets else "archive"


def copy_uploaded(job: Job, at: datetime) -> None:
    """A copy of one of the backup's archives reached a target."""
    if finished(job):
        return
    start_running(job, at)
    if job.archives_done_at is not None:
        job.phase = "upload"


def backup_complete(job: Job, artifacts: Iterable[uuid.UUID], copies: Iterable[tuple[uuid.UUID, str]]) -> bool:
    """Whether a backup has all it must: its last archive recorded, and each of its `artifacts`
    (those not pruned) copied to each of its upload targets (`copies`: artifact, target)."""
    if job.archives_done_at is None:
        return False
    artifacts = set(artifacts)
    if not artifacts:
        return False
    have = set(copies)
    return all((a, t) in have for a in artifacts for t in set(job.upload_targets or ()))


def succeed(job: Job, at: datetime, *, phase: str | None = None, figure: int | None = None) -> bool:
    """Move an open job to succeeded (in `phase` if given); False if it had finished already.

    `figure`: the bytes the job went through as its archives record them; it becomes both its
    bytes done and total (progress is sampled, its last sample is not the end)."""
    if finished(job):
        return False
    start_running(job, at)
    if phase is not None:
        job.phase = phase
    if figure is not None:
        job.bytes_done = job.bytes_total = figure
    job.status = JobStatus.SUCCEEDED
    job.finished_at = at
    return True


def fail(job: Job, at: datetime, *, phase: str, reason: str, retryable: bool | None) -> bool:
    """Move an open job to failed; False (nothing changed) if it had finished already."""
    if finished(job):
        return False
    job.status = JobStatus.FAILED
    job.phase = phase
    job.error = reason
    job.retryable = retryable
    job.finished_at = at
    return True


def cancel(job: Job, at: datetime, *, phase: str, reason: str) -> bool:
    """Move an open job to cancelled; False (nothing changed) if it had finished already."""
    if finished(job):
        return False
    job.status = JobStatus.CANCELLED
    job.phase = phase
    job.error = reason
    job.finished_at = at
    return True
