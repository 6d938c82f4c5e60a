"""What the jobs of this gateway are doing, for the live view (GET /jobs/events).

Two kinds of news go out: a job's status changed (announced only once the recorder's
transaction has committed, so a listener never sees a state the database does not hold)
and a job's progress (straight from the executor's core-NATS progress messages). Each
listener has a bounded queue; a listener that does not keep up loses news rather than
slowing the recorder down (the UI reloads the job when it reconnects).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.db import after_commit

_QUEUE_SIZE = 256


@dataclass(frozen=True)
class News:
    """One item for the live view: `kind` is `job` (a status change) or `progress`."""

    kind: str
    job_id: uuid.UUID
    data: dict[str, Any]


class JobFeed:
    def __init__(self) -> None:
        self._listeners: dict[asyncio.Queue[News], uuid.UUID | None] = {}

    @contextmanager
    def listen(self, job_id: uuid.UUID | None = None) -> Iterator[asyncio.Queue[News]]:
        """A queue of the news about `job_id` (every job if None), until the block ends."""
        queue: asyncio.Queue[News] = asyncio.Queue(_QUEUE_SIZE)
        self._listeners[queue] = job_id
        try:
            yield queue
        finally:
            self._listeners.pop(queue, None)

    def publish(self, news: News) -> None:
        for queue, wanted in list(self._listeners.items()):
            if wanted is not None and wanted != news.job_id:
                continue
            if queue.full():
                continue  # a slow listener loses news; it never blocks the recorder
            queue.put_nowait(news)

    def publish_after_commit(self, db: AsyncSession, news: News) -> None:
        """Publish `news` once `db`'s transaction commits; never if it rolls back. A job's status
        news replaces the one already pending for that job: the listener hears the state the
        transaction committed, not the steps on the way to it."""
        key = ("job-feed", news.job_id) if news.kind == "job" else None
        after_commit(db, lambda: self.publish(news), key=key, latest=True)


FEED = JobFeed()
"""This process's feed: the recorder and the progress listener publish, the SSE route listens."""
