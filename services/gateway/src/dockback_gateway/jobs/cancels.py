"""Telling the executors that a user cancelled a job: a `JobCancellation` in the cancellations
bucket under the job id, which every executor of the host watches.

Written after the transaction that recorded the cancellation has committed (a rolled-back
cancel must not stop a job), in the background, with a few retries. If NATS stays away
the reconciler writes it again on its next pass (`ensure`), because the job row remembers
who asked.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts.snapshots import JobCancellation
from dockback_contracts.streams import CANCELS_BUCKET
from dockback_gateway.db import after_commit

log = logging.getLogger(__name__)

_ATTEMPTS = 5
_RETRY_SECONDS = 1.0


class Cancellations:
    def __init__(self, js: Callable[[], JetStreamContext]) -> None:
        self._js = js
        self._in_flight: set[asyncio.Task[None]] = set()

    async def put(self, cancellation: JobCancellation) -> None:
        kv = await self._js().key_value(CANCELS_BUCKET)
        await kv.put(str(cancellation.job_id), cancellation.model_dump_json().encode())

    async def ensure(self, job_id: uuid.UUID, requested_by: str, requested_at: datetime) -> bool:
        """Write the cancellation if the bucket does not hold it; True if it had to."""
        kv = await self._js().key_value(CANCELS_BUCKET)
        try:
            await kv.get(str(job_id))
            return False
        except KeyNotFoundError:
            pass
        await self.put(JobCancellation(job_id=job_id, requested_by=requested_by, requested_at=requested_at))
        return True

    async def _put_with_retries(self, cancellation: JobCancellation) -> None:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await self.put(cancellation)
                return
            except Exception as exc:
                if attempt == _ATTEMPTS:
                    log.error(
                        "cancellation of job %s not written (%s); the reconciler will try again",
                        cancellation.job_id,
                        exc,
                    )
                    return
                await asyncio.sleep(_RETRY_SECONDS * attempt)

    def put_after_commit(self, db: AsyncSession, cancellation: JobCancellation) -> None:
        """Write `cancellation` once `db`'s transaction has committed; never if it rolls back."""
        after_commit(db, lambda: self._put_in_background(cancellation))

    def _put_in_background(self, cancellation: JobCancellation) -> None:
        task = asyncio.get_running_loop().create_task(self._put_with_retries(cancellation))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def drain(self) -> None:
        """Wait for the writes in flight (tests; shutdown)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=10.0)
