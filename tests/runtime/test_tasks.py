"""stop_loops: background loops end at shutdown even when a cancellation is swallowed (Python 3.11's
asyncio.wait_for inside nats-py can drop one), and a loop that never ends cannot hang the caller."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from dockback_runtime.tasks import stop_loops


async def test_a_loop_that_swallowed_its_cancellation_is_cancelled_again_until_it_ends() -> None:
    swallowed = asyncio.Event()

    async def watch() -> None:
        while True:  # like a watch loop around a wait_for that returned its result instead
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                if swallowed.is_set():
                    raise
                swallowed.set()

    task = asyncio.create_task(watch())
    await asyncio.sleep(0)  # the loop is waiting
    await stop_loops(task, within=10)
    assert swallowed.is_set()
    assert task.cancelled()


async def test_a_loop_that_never_ends_is_named_and_left_after_the_time_allowed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn(), name="stubborn-loop")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="dockback_runtime.tasks"):
        await stop_loops(task, within=1)
    assert not task.done()
    assert "background task stubborn-loop did not stop within 1s" in caplog.text
    release.set()
    task.cancel()
    await task


async def test_tasks_already_ended_or_absent_are_fine_and_their_errors_are_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("broken pipe")

    failed = asyncio.create_task(fails(), name="failed-loop")
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.wait([failed, finished])
    with caplog.at_level(logging.WARNING, logger="dockback_runtime.tasks"):
        await stop_loops(failed, finished, None)
    assert "background task failed-loop had ended with an error" in caplog.text
    assert "broken pipe" in caplog.text
