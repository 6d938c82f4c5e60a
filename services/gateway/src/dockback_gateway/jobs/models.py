"""Jobs and what happened to them.

A job is one request (backup, restore, verify, prune) on one host. Its id is the request's
job id: uuid5(plan, fire time) for a scheduled backup, random for a manual one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_plan_created_id", "plan_id", "created_at", "id"),  # (0016)
        Index("ix_jobs_host_created_id", "host_id", "created_at", "id"),  # (0016)
        Index("ix_jobs_created_id", "created_at", "id"),
        Index("ix_jobs_kind_created", "kind", "created_at"),
        Index("ix_jobs_ended_at", text("coalesce(finished_at, last_event_at, created_at)")),  # (0016)
        # the few jobs that delete a backup, which the catalog leaves out (0016)
        Index("ix_jobs_delete_requests", "id", postgresql_where=text("(request ->> 'type') = 'delete_requested.v1'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # backup | restore | verify | prune
    host_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    phase: Mapped[str] = mapped_column(String(16), default="queued")
    resource_kind: Mapped[str | None] = mapped_column(String(16))
    resource_name: Mapped[str | None] = mapped_column(String(255))
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the request event, to publish it again
    scheduled_for: Mapped[datetime | None] = mapped_column()
    requested_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)  # JobStarted count (executor attempts)
    republished: Mapped[int] = mapped_column(default=0)  # times the reconciler published the request again
    republished_at: Mapped[datetime | None] = mapped_column()  # when it last did (a sign of life to wait on)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool | None] = mapped_column()
    cancel_requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    last_event_at: Mapped[datetime | None] = mapped_column()
    # A backup with uploads ends when every archive has a copy on each of these targets; known from the
    # request or, if the request never reached us, from the ArchiveCreated facts.
    upload_targets: Mapped[list[str] | None] = mapped_column(JSON)
    archives_done_at: Mapped[datetime | None] = mapped_column()  # the job's last archive (last_of_job) recorded


class JobLogEntry(Base):
    """One recorded event of a job, with a line a person can read. `event_id` makes recording idempotent."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class MissedRun(Base):
    """A plan slot that produced no job: reported once (by the scheduler or the reconciler)."""

    __tablename__ = "missed_runs"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    scheduled_for: Mapped[datetime] = mapped_column(primary_key=True)
    host_id: Mapped[str] = mapped_column(String(64))
    missed_slots: Mapped[int] = mapped_column(default=1)
    last_scheduled_for: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(server_default=func.now())
