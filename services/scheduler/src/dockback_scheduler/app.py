"""The scheduler process: connect to NATS, wait for the gateway's buckets, run until signalled."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError

from dockback_contracts import streams
from dockback_runtime.collector import keep_out_of_collections
from dockback_runtime.connection import connect_options
from dockback_scheduler.plans import Shard
from dockback_scheduler.publisher import TRANSIENT, Backoff
from dockback_scheduler.service import Scheduler
from dockback_scheduler.settings import Settings

log = logging.getLogger(__name__)


async def connect(
    settings: Settings, closing: asyncio.Event, on_reconnect: Callable[[], None] = lambda: None
) -> Client:
    """A connection that reconnects forever; the first connect is retried too, so the
    scheduler may start before the NATS server (as it does under `make up`)."""

    async def on_error(exc: Exception) -> None:
        log.warning("NATS: %r", exc)

    async def on_disconnected() -> None:
        if not closing.is_set():
            log.warning("NATS: disconnected; reconnecting")

    async def on_reconnected() -> None:
        log.info("NATS: reconnected")
        on_reconnect()

    backoff = Backoff(first=0.5, cap=5.0)
    attempt = 0
    while True:
        attempt += 1
        try:
            return await nats.connect(
                **connect_options(settings),
                name="dockback-scheduler",
                max_reconnect_attempts=-1,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            )
        except (OSError, nats.errors.NoServersError, *TRANSIENT) as exc:
            delay = backoff.delay(attempt)
            log.warning("cannot connect to NATS (%r); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)


async def wait_for_buckets(js: JetStreamContext) -> None:
    """Return once the buckets the scheduler reads exist: the gateway declares them at its start."""
    backoff = Backoff(first=0.5, cap=5.0)
    for bucket in (streams.PLANS_BUCKET, streams.SCHEDULER_BUCKET):
        attempt = 0
        while True:
            attempt += 1
            try:
                await js.key_value(bucket)
                break
            except (BucketNotFoundError, *TRANSIENT) as exc:
                if attempt == 1:
                    log.info("waiting for the gateway to declare KV bucket %s (%r)", bucket, exc)
                await asyncio.sleep(backoff.delay(attempt))


async def run(settings: Settings) -> None:
    """Run the scheduler until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    scheduler: Scheduler | None = None

    def resync() -> None:
        if scheduler is not None:
            scheduler.resync_plans()

    closing = asyncio.Event()
    nc = await connect(settings, closing, on_reconnect=resync)
    try:
        js = nc.jetstream()
        await wait_for_buckets(js)
        scheduler = Scheduler(
            js,
            publish_concurrency=settings.publish_concurrency,
            missed_count_limit=settings.missed_count_limit,
            shard=Shard(settings.shard_index, settings.shard_count),
        )
        await scheduler.start()
        keep_out_of_collections()
        await stop.wait()
        log.info("stopping")
        await scheduler.stop()
    finally:
        closing.set()
        await nc.close()
