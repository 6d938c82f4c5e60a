"""The last slot handled per plan, kept in the KV bucket `dockback_scheduler`.

The scheduler holds no state of its own; this is what tells a restarted replica which slots
it missed (fire the newest within the grace, report the rest) instead of silently starting
from "now". Replicas share the bucket: each writes the slots it handled, and since they
handle the same slots the values agree.

Writes are coalesced: `record` only notes the newest slot per plan and a background task
writes them, so 10,000 plans firing in the same second cost one put per plan at most, and
a failed write (NATS away) is retried with the newest value instead of piling up. A value
only moves forward within a process. If another replica that lags behind writes an older
slot, a restart fires or reports that slot again: a refire within the 2 h duplicate window
is dropped by the server, a report is one more alert. Both are preferable to losing a slot.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from uuid import UUID

from nats.js.kv import KeyValue

from dockback_scheduler.publisher import DEFAULT_BACKOFF, TRANSIENT, Backoff

log = logging.getLogger(__name__)

_WRITE_BATCH = 256


class Watermarks:
    """Plan id -> the newest slot decided (fired or reported missed) for it."""

    def __init__(self, kv: KeyValue, *, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self._kv = kv
        self._backoff = backoff
        self._known: dict[UUID, datetime] = {}
        self._pending: dict[UUID, datetime | None] = {}  # None: delete the key
        self._dirty = asyncio.Event()

    async def load(self) -> None:
        """Read every watermark in the bucket (once, at start)."""
        watcher = await self._kv.watchall(ignore_deletes=True)
        try:
            async for entry in watcher:
                if entry is None:  # the initial values are all here
                    break
                try:
                    plan_id = UUID(entry.key)
                    self._known[plan_id] = datetime.fromisoformat((entry.value or b"").decode())
                except ValueError:
                    log.warning("ignored an unreadable watermark under key %r", entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        log.info("loaded %d watermarks", len(self._known))

    def get(self, plan_id: UUID) -> datetime | None:
        return self._known.get(plan_id)

    def record(self, plan_id: UUID, slot: datetime) -> None:
        """Note that every slot of the plan up to ``slot`` is decided; written soon."""
        known = self._known.get(plan_id)
        if known is not None and slot <= known:
            return
        self._known[plan_id] = slot
        self._pending[plan_id] = slot
        self._dirty.set()

    def forget(self, plan_id: UUID) -> None:
        """Remove the plan's watermark (the plan was deleted)."""
        self._known.pop(plan_id, None)
        self._pending[plan_id] = None
        self._dirty.set()

    async def run(self) -> None:
        """Write pending watermarks as they come, until cancelled."""
        attempt = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if await self.flush():
                attempt = 0
            else:
                attempt += 1
                await asyncio.sleep(self._backoff.delay(attempt))
                self._dirty.set()

    async def flush(self) -> bool:
        """Write everything pending now; True if all of it was written."""
        batch, self._pending = self._pending, {}
        items = list(batch.items())
        failed = 0
        for start in range(0, len(items), _WRITE_BATCH):
            chunk = items[start : start + _WRITE_BATCH]
            results = await asyncio.gather(*(self._write(p, s) for p, s in chunk), return_exceptions=True)
            for (plan_id, slot), result in zip(chunk, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, TRANSIENT):
                        log.error("could not write the watermark of plan %s: %r", plan_id, result)
                    failed += 1
                    self._pending.setdefault(plan_id, slot)  # unless a newer one came meanwhile
        if failed:
            log.warning("%d watermark writes failed; retrying", failed)
        return failed == 0

    async def _write(self, plan_id: UUID, slot: datetime | None) -> None:
        if slot is None:
            await self._kv.delete(str(plan_id))
        else:
            await self._kv.put(str(plan_id), slot.isoformat().encode())
