"""Watermarks on a real nats-server: when a noted slot is written to the `dockback_scheduler` bucket."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from dockback_runtime.tasks import stop_loops
from dockback_scheduler.watermarks import Watermarks

from .conftest import WAIT

SLOT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def written(kv: KeyValue, key: str) -> bytes | None:
    """The key's first value, as soon as it is written (None if nothing within WAIT)."""
    watcher = await kv.watch(key, include_history=True)
    try:
        async with asyncio.timeout(WAIT):
            async for entry in watcher:
                if entry is not None and entry.value:
                    return bytes(entry.value)
    except TimeoutError:
        return None
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
    return None


async def test_a_watermark_is_written_only_once_the_batches_being_published_are_done(
    js: JetStreamContext, watermarks_kv: KeyValue
) -> None:
    watermarks = Watermarks(js, watermarks_kv, flush_interval=0.05, max_defer=WAIT * 2)
    plan_id = uuid.uuid4()
    writer = asyncio.create_task(watermarks.run())
    try:
        with watermarks.publishing():
            watermarks.record(plan_id, SLOT)
            # Several flush intervals pass while a batch publishes: nothing is written meanwhile.
            await asyncio.sleep(0.5)
            with pytest.raises(KeyNotFoundError):
                await watermarks_kv.get(str(plan_id))
        assert await written(watermarks_kv, str(plan_id)) == SLOT.isoformat().encode()
    finally:
        await stop_loops(writer)


async def test_a_scheduler_that_never_pauses_still_writes_its_watermarks_after_the_bound(
    js: JetStreamContext, watermarks_kv: KeyValue
) -> None:
    watermarks = Watermarks(js, watermarks_kv, flush_interval=0.05, max_defer=0.3)
    plan_id = uuid.uuid4()
    writer = asyncio.create_task(watermarks.run())
    try:
        with watermarks.publishing():
            watermarks.record(plan_id, SLOT)
            assert await written(watermarks_kv, str(plan_id)) == SLOT.isoformat().encode()
    finally:
        await stop_loops(writer)
