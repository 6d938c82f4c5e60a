"""What the scheduler consumes: the plan snapshots in the `dockback_plans` bucket, watched from its
current values on, each checked and handed to the scheduler as a change or a removal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import ValidationError

from dockback_contracts import streams
from dockback_contracts.snapshots import PlanSnapshot
from dockback_runtime.buckets import holds_nothing, is_caught_up
from dockback_runtime.tasks import stop_loops
from dockback_scheduler.publisher import TRANSIENT, Backoff

log = logging.getLogger(__name__)

_YIELD_EVERY = 256  # plan changes applied between two yields to the event loop


class PlanSink(Protocol):
    def plan_changed(self, plan: PlanSnapshot) -> None: ...

    def plan_removed(self, plan_id: UUID) -> None: ...


class PlanWatch:
    """Feeds `sink` every plan of the bucket, then every change; sets `ready` once the current
    plans are all applied."""

    def __init__(
        self,
        js: JetStreamContext,
        kv: KeyValue,
        sink: PlanSink,
        ready: asyncio.Event,
        backoff: Backoff,
        owns: Callable[[UUID], bool] = lambda _: True,
    ) -> None:
        self._js = js
        self._owns = owns
        self._kv = kv
        self._sink = sink
        self._ready = ready
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._watch(), name="scheduler: plan watch")
        return self._task

    def resync(self) -> None:
        """Watch the plans afresh, e.g. right after NATS reconnected.

        The KV watch (an ordered consumer) notices a lost server only after missing its
        heartbeats, 10-20 s; a new watch replays the bucket at once, and replaying is
        harmless: revisions already seen are ignored, deletes made meanwhile are applied.
        """
        if self._task is None:
            return
        self._task.cancel()
        self.start()

    async def stop(self) -> None:
        if self._task is not None:
            await stop_loops(self._task)
            self._task = None

    async def _watch(self) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                if await holds_nothing(self._js, streams.PLANS_BUCKET):
                    self._ready.set()  # no plan yet: nothing to wait for
                # With the history, an older revision that is the key's current value (written
                # late by a retrying relay) still loses to the newer one before it.
                watcher = await self._kv.watchall(include_history=True)
            except TRANSIENT as exc:
                delay = self._backoff.delay(attempt)
                log.warning("cannot watch the plans (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            try:
                applied = 0
                async for entry in watcher:
                    if entry is None:
                        continue  # nats-py's "nothing pending" can come before the plans (see buckets)
                    self.apply(entry.key, entry.operation, entry.value)
                    if is_caught_up(entry):
                        self._ready.set()  # every plan the bucket held is applied
                    applied += 1
                    if applied % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # a queue that is never empty would not yield
            finally:
                with contextlib.suppress(Exception):
                    await watcher.stop()  # type: ignore[no-untyped-call]
            return

    def apply(self, key: str, operation: str | None, value: bytes | None) -> None:
        """One entry of the bucket: a plan's snapshot, or its deletion."""
        try:
            plan_id = UUID(key)
        except ValueError:
            log.warning("ignored key %r in %s: not a plan id", key, streams.PLANS_BUCKET)
            return
        if not self._owns(plan_id):
            return  # another shard's plan: not even parsed
        if operation in (KV_DEL, KV_PURGE):
            self._sink.plan_removed(plan_id)
            return
        try:
            plan = PlanSnapshot.model_validate_json(value or b"")
        except ValidationError as exc:
            log.error("ignored an invalid snapshot of plan %s: %s", plan_id, exc.errors(include_input=False))
            return
        if plan.plan_id != plan_id:
            log.error("ignored the snapshot under key %s: it is plan %s", plan_id, plan.plan_id)
            return
        self._sink.plan_changed(plan)
