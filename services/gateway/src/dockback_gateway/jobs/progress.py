"""Live progress of running jobs: core-NATS `JobProgress` messages (losing one is harmless).

Every gateway replica hears every progress message; each keeps the latest per job in
memory, hands it to its live view at once, and writes bytes and phase to the job's row at
most every `write_seconds` (a job reports up to once a second; the database need not see
each). A progress message is also a sign of life the reconciler reads (`last_event_at`).
A message whose body names another host than its subject, or a job of another host, is
refused (`provenance`); progress of a job the gateway has not recorded yet is dropped (the
next one will do).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_gateway import provenance
from dockback_gateway.jobs.feed import FEED, News
from dockback_gateway.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

_FORGET_AFTER = timedelta(minutes=10)


class ProgressBoard:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], write_seconds: float) -> None:
        self.sessions = sessions
        self.write_seconds = write_seconds
        self.latest: dict[uuid.UUID, ev.JobProgress] = {}
        self._hosts: dict[uuid.UUID, str] = {}  # each job's host, read once per job
        self._dirty: set[uuid.UUID] = set()

    async def on_message(self, msg: Msg) -> None:
        """The core-NATS callback: parse, remember, pass on."""
        try:
            progress = ev.JobProgress.model_validate(json.loads(msg.data), strict=False)
        except (ValueError, ValidationError) as exc:
            log.warning("progress: ignoring a malformed message on %s: %s", msg.subject, exc)
            return
        if (foreign := provenance.foreign_to_subject(progress, msg.subject)) is not None:
            provenance.refuse(progress, msg.subject, "subject_host", foreign)
            return
        try:
            host = await self._host_of(progress.job_id)
        except Exception:
            log.warning("progress: cannot read the host of job %s; dropped", progress.job_id, exc_info=True)
            return
        if host is None:
            return  # not recorded yet
        if host != progress.host_id:
            provenance.refuse(progress, msg.subject, "job", f"job {progress.job_id} is {host!r}'s")
            return
        self.take(progress)

    async def _host_of(self, job_id: uuid.UUID) -> str | None:
        host = self._hosts.get(job_id)
        if host is None:
            async with self.sessions() as db:
                host = await db.scalar(select(Job.host_id).where(Job.id == job_id))
            if host is not None:
                self._hosts[job_id] = host
        return host

    def take(self, progress: ev.JobProgress) -> None:
        known = self.latest.get(progress.job_id)
        if known is not None and known.occurred_at > progress.occurred_at:
            return  # an older message overtaken by a newer one
        self.latest[progress.job_id] = progress
        self._dirty.add(progress.job_id)
        FEED.publish(
            News(
                "progress",
                progress.job_id,
                {
                    "job_id": str(progress.job_id),
                    "host_id": progress.host_id,
                    "phase": progress.phase,
                    "bytes_done": progress.bytes_done,
                    "bytes_total": progress.bytes_total,
                    "at": progress.occurred_at.isoformat(),
                },
            )
        )

    async def write(self) -> int:
        """Write the progress heard since the last write to the jobs' rows (open jobs only)."""
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return 0
        try:
            async with self.sessions.begin() as db:
                for job_id in dirty:
                    progress = self.latest[job_id]
                    await db.execute(
                        update(Job)
                        .where(
                            Job.id == job_id,
                            Job.host_id == progress.host_id,
                            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                        )
                        .values(
                            bytes_done=progress.bytes_done,
                            bytes_total=progress.bytes_total,
                            phase=progress.phase,
                            last_event_at=func.greatest(
                                func.coalesce(Job.last_event_at, progress.occurred_at), progress.occurred_at
                            ),
                        )
                    )
        except Exception:
            self._dirty |= dirty  # the next write tries again
            raise
        return len(dirty)

    def forget_old(self, now: datetime) -> None:
        for job_id, progress in list(self.latest.items()):
            if now - progress.occurred_at > _FORGET_AFTER and job_id not in self._dirty:
                del self.latest[job_id]
        for job_id in list(self._hosts):
            if job_id not in self.latest:
                del self._hosts[job_id]

    async def run(self) -> None:
        """Write every `write_seconds` until cancelled."""
        while True:
            await asyncio.sleep(self.write_seconds)
            try:
                await self.write()
            except Exception:
                log.warning("progress: writing to the jobs table failed; retrying", exc_info=True)
            self.forget_old(datetime.now(UTC))
