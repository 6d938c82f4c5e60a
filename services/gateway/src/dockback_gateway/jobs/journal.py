"""A job's journal: its row locked for a change, the lines of its log, and the news of its new
state for the live view. Whoever changes a job writes through these (the recorder, the
reconciler, the job routes, `queue_job`), in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.jobs.feed import FEED, News
from dockback_gateway.jobs.models import Job, JobLogEntry
from dockback_gateway.jobs.schemas import JobOut


async def locked_job(db: AsyncSession, job_id: uuid.UUID) -> Job | None:
    """The job row, locked until the transaction ends (the recorder and the reconciler take turns)."""
    return await db.scalar(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    )


async def log_line(
    db: AsyncSession,
    job_id: uuid.UUID,
    *,
    event_id: uuid.UUID,
    type_: str,
    occurred_at: datetime,
    message: str,
    data: dict[str, Any],
) -> bool:
    """Append a line to the job's log; False if this event id is there already (a repeat)."""
    inserted = await db.execute(
        insert(JobLogEntry)
        .values(job_id=job_id, event_id=event_id, type=type_, occurred_at=occurred_at, message=message, data=data)
        .on_conflict_do_nothing(index_elements=[JobLogEntry.event_id])
        .returning(JobLogEntry.id)
    )
    return inserted.scalar_one_or_none() is not None


def announce(db: AsyncSession, job: Job) -> None:
    """Tell the live view about the job's new state once this transaction has committed (only
    the last state announced in the transaction goes out: the one the database holds)."""
    FEED.publish_after_commit(db, News("job", job.id, JobOut.of(job).model_dump(mode="json")))
