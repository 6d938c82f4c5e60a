"""Request and response bodies of the /jobs routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dockback_contracts.base import HostId
from dockback_contracts.events import BackupOptions, ResourceRef
from dockback_gateway.jobs.models import Job, JobStatus

JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobKindName = Literal["backup", "restore", "verify", "prune"]


class JobOut(BaseModel):
    """A job as the list and the live view show it."""

    id: uuid.UUID
    kind: str = Field(description="backup, restore, verify or prune")
    host_id: str
    plan_id: uuid.UUID | None
    status: str = Field(description="queued → running → succeeded, failed or cancelled")
    finished: bool = Field(description="Whether the status is final (succeeded, failed or cancelled)")
    phase: str = Field(description="What it is doing or was doing when it ended: queued, prepare, archive, upload, …")
    resource_kind: str | None = Field(description="The one resource of an ad-hoc backup or a restore")
    resource_name: str | None
    scheduled_for: datetime | None = Field(description="The plan's fire time, for a scheduled run")
    requested_by: str | None = Field(description="Who asked for it; empty for a scheduled run")
    attempts: int = Field(description="How many times a host started it")
    republished: int = Field(description="How many times the reconciler published its request again")
    bytes_done: int = Field(
        description="While it runs: the host's latest progress. Once succeeded: the bytes its archives record "
        "(a backup's archives' tar size, a restored or checked archive's)"
    )
    bytes_total: int | None = Field(description="What it is expected to reach, when known (for a percentage)")
    error: str | None = Field(description="Why it failed or was cancelled")
    retryable: bool | None = Field(description="For a failed job: whether running it again may succeed")
    cancel_requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_event_at: datetime | None = Field(description="When the newest fact about it happened")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            host_id=job.host_id,
            plan_id=job.plan_id,
            status=job.status,
            finished=JobStatus(job.status).finished,
            phase=job.phase,
            resource_kind=job.resource_kind,
            resource_name=job.resource_name,
            scheduled_for=job.scheduled_for,
            requested_by=job.requested_by,
            attempts=job.attempts,
            republished=job.republished,
            bytes_done=job.bytes_done,
            bytes_total=job.bytes_total,
            error=job.error,
            retryable=job.retryable,
            cancel_requested_by=job.cancel_requested_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            last_event_at=job.last_event_at,
        )


class JobPage(BaseModel):
    """One page of jobs, newest first."""

    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class JobLogLine(BaseModel):
    """One thing that happened to a job, in words."""

    at: datetime = Field(description="When it happened (the event's time)")
    type: str = Field(description="The event type, e.g. job_started.v1, or reconciler.republished")
    message: str
    data: dict[str, Any] = Field(description="The event as recorded")


class ArtifactCopyOut(BaseModel):
    target_id: str
    bucket: str
    key: str
    uploaded_at: datetime


class JobArtifact(BaseModel):
    """An archive or snapshot the job produced (from the artifact catalog)."""

    id: uuid.UUID
    resource_kind: str
    resource_name: str
    role: str = Field(description="What the archive holds for the resource: a volume name, config or image")
    format: Literal["archive", "repository"] = Field(
        default="archive", description="archive: a tar archive file; repository: a snapshot in a restic repository."
    )
    snapshot_id: str | None = Field(default=None, description="A snapshot's restic id.")
    path: str
    size_bytes: int
    sha256: str
    state: str
    created_at: datetime
    verified_at: datetime | None
    copies: list[ArtifactCopyOut]


class JobDetail(JobOut):
    """A job with its history and what it produced."""

    events: list[JobLogLine] = Field(description="What happened, in order")
    artifacts: list[JobArtifact]


class RunJob(BaseModel):
    """Run a plan now (`plan_id`), or back up one resource ad hoc (`host_id` and `resource`)."""

    model_config = ConfigDict(extra="forbid")

    plan_id: uuid.UUID | None = Field(default=None, description="Run this plan once, now")
    host_id: HostId | None = Field(default=None, description="The host of an ad-hoc backup")
    resource: ResourceRef | None = Field(default=None, description="The volume, container or image to back up")
    options: BackupOptions | None = Field(
        default=None, description="Compression and consistency of an ad-hoc backup (defaults when absent)"
    )

    @model_validator(mode="after")
    def _one_kind_of_run(self) -> RunJob:
        if self.plan_id is not None:
            extra = [n for n in ("host_id", "resource", "options") if getattr(self, n) is not None]
            if extra:
                raise ValueError(f"a plan run takes only plan_id, not {', '.join(extra)}")
        elif self.host_id is None or self.resource is None:
            raise ValueError("give plan_id to run a plan, or host_id and resource for an ad-hoc backup")
        return self


class JobAccepted(BaseModel):
    """The job was queued; follow it at GET /jobs/{id}."""

    id: uuid.UUID
    status: str
