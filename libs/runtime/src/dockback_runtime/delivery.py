"""How a handler holds a JetStream message while it works, without doing any I/O itself.

`keep_alive` calls the message's in-progress ack on a period shorter than the consumer's
ack wait, so the server does not redeliver a job that is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ServiceUnavailableError

from dockback_contracts.streams import ConsumerSpec
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def keep_alive(in_progress: Callable[[], Awaitable[None]], interval: float) -> AsyncIterator[None]:
    """Call `in_progress()` every `interval` seconds while the block runs."""
    if interval <= 0:
        raise ValueError("interval must be positive")

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await in_progress()
            except Exception:  # a lost ack is retried at the next beat; never kill the job for it
                log.warning("in-progress ack failed; retrying in %.1fs", interval, exc_info=True)

    task = asyncio.create_task(beat(), name="jetstream-keep-alive")
    try:
        yield
    finally:
        await stop_loops(task)


async def wait_until_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; whether it is set.

    Use this rather than `asyncio.wait_for(event.wait(), seconds)`: on Python 3.11 wait_for
    can swallow a cancellation that arrives as the inner wait completes, and a loop built on
    it then never stops (a service's shutdown hangs). `asyncio.timeout` does not.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass
    return event.is_set()


async def create_or_update_consumer(js: JetStreamContext, spec: ConsumerSpec, stopped: asyncio.Event) -> bool:
    """Create a service's durable consumer, or update it (a changed config is otherwise silently
    kept as it was), before it subscribes. Waits for the gateway to declare the stream; False if
    `stopped` is set meanwhile."""
    while not stopped.is_set():
        try:
            await js.add_consumer(spec.stream, spec.config)
            return True
        except NotFoundError:
            log.warning("stream %s does not exist yet (the gateway declares it); retrying", spec.stream)
            await wait_until_set(stopped, 2.0)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError, TimeoutError) as exc:
            # A JetStream cluster electing a leader answers nothing for a few seconds: wait it out
            # instead of exiting at start.
            log.warning("JetStream did not answer creating consumer %s (%r); retrying", spec.config.durable_name, exc)
            await wait_until_set(stopped, 2.0)
    return False
