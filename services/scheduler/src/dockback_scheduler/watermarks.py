"""The last slot handled per plan, kept in the KV bucket `dockback_scheduler`.

The scheduler holds no state of its own; this is what tells a restarted replica which slots
it missed (fire the newest within the grace, report the rest) instead of silently starting
from "now". Replicas share the bucket: each writes the slots it handled, and since they
handle the same slots the values agree.

Writes are coalesced: `record` only notes the newest slot per plan and a background task
writes what was noted at most once every `FLUSH_INTERVAL`, pipelined (`publish_acked`), so
10,000 plans firing in the same second cost one put per plan and a few batches of acks, and
a failed write (NATS away) is retried with the newest value instead of piling up. While
batches of due plans are being published (`publishing`), the write waits for them, at
most `MAX_DEFER` seconds: the puts would otherwise compete with a burst's requests for the
scheduler's CPU and the connection, and lengthen it by a third.

Writing up to `FLUSH_INTERVAL + MAX_DEFER` seconds late is harmless: a watermark is only
read at the next start, and a replica that crashed before writing decides those slots
again. The newest within the grace fires again, and the server drops it as a duplicate
(its `Nats-Msg-Id` is the job id, the duplicate window is 2 h); a plan that fires more
often than that delay may also see an older of those slots reported as missed although it
ran: one more alert, never a lost or doubled job. A value only moves forward within a
process. If another replica that lags behind writes an older slot, a restart fires or
reports that slot again: a refire within the 2 h duplicate window is dropped by the
server, a report is one more alert. Both are preferable to losing a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from dockback_contracts import streams
from dockback_runtime.buckets import holds_nothing, is_caught_up
from dockback_runtime.delivery import wait_until_set
from dockback_scheduler.publisher import DEFAULT_BACKOFF, TRANSIENT, Backoff, Message, publish_acked

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
"""Seconds between two writes of the watermarks noted meanwhile."""

MAX_DEFER = 5.0
"""Seconds a due write waits at most for the batches being published (a scheduler busy
without a pause, e.g. plans firing every second, still writes)."""

_WRITE_BATCH = 1024  # puts awaited together


class Watermarks:
    """Plan id -> the newest slot decided (fired or reported missed) for it."""

    def __init__(
        self,
        js: JetStreamContext,
        kv: KeyValue,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        timeout: float = 5.0,
        flush_interval: float = FLUSH_INTERVAL,
        max_defer: float = MAX_DEFER,
    ) -> None:
        self._js = js
        self._kv = kv
        self._timeout = timeout
        self._backoff = backoff
        self._flush_interval = flush_interval
        self._max_defer = max_defer
        self._publishing = 0  # batches being published now
        self._idle = asyncio.Event()  # set when none is
        self._idle.set()
        self._known: dict[UUID, datetime] = {}
        self._pending: dict[UUID, datetime | None] = {}  # None: delete the key
        self._dirty = asyncio.Event()

    async def load(self) -> None:
        """Read every watermark in the bucket (once, at start). Not to the first `None` of the
        watch, which can come before the entries (see dockback_runtime.buckets)."""
        if not await holds_nothing(self._js, streams.SCHEDULER_BUCKET):
            watcher = await self._kv.watchall()
            try:
                async for entry in watcher:
                    if entry is None:
                        continue  # nats-py's "nothing pending": not to be trusted
                    self._load_entry(entry)
                    if is_caught_up(entry):
                        break
            finally:
                await watcher.stop()  # type: ignore[no-untyped-call]
        log.info("loaded %d watermarks", len(self._known))

    def _load_entry(self, entry: KeyValue.Entry) -> None:
        try:
            plan_id = UUID(entry.key)
        except ValueError:
            log.warning("ignored an unreadable watermark under key %r", entry.key)
            return
        if entry.operation in (KV_DEL, KV_PURGE):
            self._known.pop(plan_id, None)
            return
        try:
            self._known[plan_id] = datetime.fromisoformat((entry.value or b"").decode())
        except ValueError:
            log.warning("ignored an unreadable watermark under key %r", entry.key)

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

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        """Around a batch's publishes: writes wait until no batch is being published (bounded)."""
        self._publishing += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._publishing -= 1
            if not self._publishing:
                self._idle.set()

    async def run(self) -> None:
        """Write pending watermarks every `FLUSH_INTERVAL` while there are any, until cancelled."""
        attempt = 0
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._flush_interval)  # gather what a burst of due plans notes meanwhile
            await wait_until_set(self._idle, self._max_defer)  # and let the burst end first
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
            puts = [(plan_id, slot) for plan_id, slot in chunk if slot is not None]
            deletes = [(plan_id, slot) for plan_id, slot in chunk if slot is None]
            # A put is a publish on the key's subject in the bucket's stream, as `KeyValue.put`
            # does it; publishing them together saves a request and an ack wait per plan.
            put_results = await publish_acked(
                self._js,
                [
                    Message(f"$KV.{streams.SCHEDULER_BUCKET}.{plan_id}", slot.isoformat().encode())
                    for plan_id, slot in puts
                ],
                self._timeout,
            )
            delete_results = await asyncio.gather(
                *(self._kv.delete(str(plan_id)) for plan_id, _ in deletes), return_exceptions=True
            )
            for (plan_id, slot), result in zip([*puts, *deletes], [*put_results, *delete_results], strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, TRANSIENT):
                        log.error("could not write the watermark of plan %s: %r", plan_id, result)
                    failed += 1
                    self._pending.setdefault(plan_id, slot)  # unless a newer one came meanwhile
        if failed:
            log.warning("%d watermark writes failed; retrying", failed)
        return failed == 0
