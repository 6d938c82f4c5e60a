"""Stopping a service's background loops (watches, heartbeats, samplers) at shutdown.

One `task.cancel()` is not always enough on Python 3.11: `asyncio.wait_for`, used inside
nats-py (a KV watcher's `updates`, a request's timeout), returns the inner result when it
completes in the same loop iteration as the cancellation and drops the cancellation. A
`while True` loop around it then goes on, and a shutdown that awaits it hangs for good.
`stop_loops` cancels again until the tasks have ended.

Only for loops that hold nothing to clean up: a job's task is cancelled once, because a
second cancellation would interrupt its cleanup (restarting the containers it stopped).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

_AGAIN_SECONDS = 0.5


async def stop_loops(*tasks: asyncio.Task[Any] | None, within: float = 10.0) -> None:
    """Cancel `tasks` (None entries are skipped) and wait until they end, cancelling again every
    half second; after `within` seconds the ones still running are left to the event loop's
    end, with an error logged naming them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = {task for task in tasks if task is not None}
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            for task in pending:
                log.error("background task %s did not stop within %.0fs", task.get_name(), within)
            break
        done, pending = await asyncio.wait(pending, timeout=min(_AGAIN_SECONDS, remaining))
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                log.warning("background task %s had ended with an error", task.get_name(), exc_info=exc)
