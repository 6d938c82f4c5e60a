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


async def test_every_watermark_in_the_bucket_is_loaded_never_only_those_that_arrived_before_a_marker(
    js: JetStreamContext, watermarks_kv: KeyValue
) -> None:
    """nats-py's "initial values are all here" marker can come before the entries (the server
    counts them delivered once sent): loading must not stop there. Many loads of a small bucket,
    where the marker races the entries, each finds every watermark, the deleted one gone."""
    kept = {uuid.uuid4(): SLOT.replace(minute=minute) for minute in range(3)}
    for plan_id, slot in kept.items():
        await watermarks_kv.put(str(plan_id), slot.isoformat().encode())
    deleted = uuid.uuid4()
    await watermarks_kv.put(str(deleted), SLOT.isoformat().encode())
    await watermarks_kv.delete(str(deleted))
    for _ in range(40):
        watermarks = Watermarks(js, watermarks_kv)
        await watermarks.load()
        assert {plan_id: watermarks.get(plan_id) for plan_id in kept} == kept
        assert watermarks.get(deleted) is None


async def test_an_empty_bucket_loads_at_once(js: JetStreamContext, watermarks_kv: KeyValue) -> None:
    watermarks = Watermarks(js, watermarks_kv)
    async with asyncio.timeout(WAIT):
        await watermarks.load()
    assert watermarks.get(uuid.uuid4()) is None
