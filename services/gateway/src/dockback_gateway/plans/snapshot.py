"""Plan snapshots in the plans KV bucket: what the scheduler fires from.

The bucket follows the database: a live plan's key (its id) holds `snapshot_of(plan)`, a
deleted plan has no key. Every committed change publishes, and a sweep at start and every
few minutes repairs what a publication missed (a crash between commit and publish, a new
NATS cluster, a bucket that was lost).

Several gateways may publish the same plan at once. Each publication reads the bucket's
entry first, then the committed plan, and writes with a compare-and-set on the entry it
read (`update(last=...)`): a writer that raced another re-reads both and tries again. So
the stored snapshot's revision only grows, and a stale writer never overwrites a newer
snapshot or brings back the key of a deleted plan (plans are never undeleted, so a plan
still live after we saw its key deleted means the key was lost, not the plan).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts.streams import PLANS_BUCKET
from dockback_gateway.db import after_commit
from dockback_gateway.kv import revision_of
from dockback_gateway.plans.convert import snapshot_of
from dockback_gateway.plans.models import Plan
from dockback_gateway.runtime import Runtime

log = logging.getLogger(__name__)

_PUT_ATTEMPTS = 10
_DRAIN_SECONDS = 10.0


class PlanPublisher:
    """Keeps the plans bucket in step with the committed plans."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._in_flight: set[asyncio.Task[None]] = set()

    async def _bucket(self) -> KeyValue:
        return await self._runtime.js.key_value(PLANS_BUCKET)

    async def publish(self, plan_id: uuid.UUID) -> bool:
        """Make the plan's key say what the database says now: its snapshot, or no key.

        Returns whether this call wrote (or deleted) the key; False when it already said so."""
        kv = await self._bucket()
        key = str(plan_id)
        for _ in range(_PUT_ATTEMPTS):
            try:
                entry = await kv.get(key)
                seen, deleted, published = entry.revision, False, revision_of(entry.value)
            except KeyNotFoundError as exc:  # never written (entry None), or deleted (its marker)
                seen, deleted, published = (exc.entry.revision if exc.entry else None), True, 0
            async with self._runtime.sessions() as db:  # read after the entry: never older than it
                plan = await db.get(Plan, plan_id)
            try:
                if plan is None or plan.deleted_at is not None:
                    if not deleted and seen is not None:
                        await kv.delete(key, last=seen)
                        return True
                    return False
                if not deleted and published >= plan.revision:
                    return False  # already there (or another gateway was first)
                await kv.update(key, snapshot_of(plan).model_dump_json().encode(), last=seen or 0)
                return True
            except KeyWrongLastSequenceError:
                continue  # someone wrote in between: look again
        raise RuntimeError(f"the snapshot of plan {plan_id} kept changing under us ({_PUT_ATTEMPTS} attempts)")

    async def publish_or_log(self, plan_id: uuid.UUID) -> None:
        """Publish; a failure is logged (the sweep repairs it) and never raised."""
        try:
            await self.publish(plan_id)
        except Exception:
            log.exception("plan %s: snapshot not published; the next sweep will try again", plan_id)

    def publish_after_commit(self, db: AsyncSession, plan_id: uuid.UUID) -> None:
        """Publish the plan once `db`'s transaction has committed (in the background); never if
        it rolls back."""
        after_commit(db, lambda: self._publish_in_background(plan_id), key=("plan snapshot", plan_id))

    def _publish_in_background(self, plan_id: uuid.UUID) -> None:
        task = asyncio.get_running_loop().create_task(self.publish_or_log(plan_id))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def sweep(self) -> int:
        """Bring every key in step with the database; returns how many were published or deleted.

        Reads the live plans once and each key's entry; only a key that is missing, stale or
        of a plan that no longer lives is published again (each re-reading its plan).
        """
        kv = await self._bucket()
        async with self._runtime.sessions() as db:
            rows = await db.execute(select(Plan.id, Plan.revision).where(Plan.deleted_at.is_(None)))
            live = {plan_id: revision for plan_id, revision in rows}
        try:
            keys = set(await kv.keys())
        except NoKeysError:
            keys = set()
        stale: list[uuid.UUID] = []
        for plan_id, revision in live.items():
            if str(plan_id) not in keys:
                stale.append(plan_id)
                continue
            try:
                entry = await kv.get(str(plan_id))
            except KeyNotFoundError:
                stale.append(plan_id)
                continue
            if revision_of(entry.value) < revision:
                stale.append(plan_id)
        for key in keys:
            try:
                plan_id = uuid.UUID(key)
            except ValueError:
                log.warning("plans bucket: key %r is not a plan id; left alone", key)
                continue
            if plan_id not in live:
                stale.append(plan_id)
        repaired = 0
        for plan_id in stale:
            # A key read as stale may be in step by now (a publication after commit, another gateway's
            # sweep): only what this sweep wrote counts.
            if await self.publish(plan_id):
                repaired += 1
            else:
                log.debug("plans bucket: key %s was in step when published again", plan_id)
        return repaired

    async def drain(self) -> None:
        """Wait for the publications in flight (tests use it too)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=_DRAIN_SECONDS)
