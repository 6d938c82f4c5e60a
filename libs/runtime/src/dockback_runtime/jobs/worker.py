"""Wiring a job worker to JetStream: its broker, its job subscribers, its consumers, and the loops
that run beside the jobs (cancellation watch, consumer lag)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from dockback_contracts.streams import ConsumerSpec
from dockback_runtime.connection import NatsClientSettings, own_inbox_for_pull_consumers, server_has_subscriptions
from dockback_runtime.delivery import create_or_update_consumer

log = logging.getLogger(__name__)

JobHandler = Callable[[Any, NatsMessage], Awaitable[None]]


def subscribe_job(broker: NatsBroker, spec: ConsumerSpec, handler: JobHandler, *, max_workers: int = 1) -> None:
    """Subscribe `handler` to the durable pull consumer `spec`, which the worker creates itself
    (`start_consumers`), `max_workers` times: each subscription fetches one message and fetches
    the next only when its handler returned, so a message is fetched only when a worker is free
    for it. (FastStream's own `max_workers` fetches while every worker is busy and keeps the
    message in memory, without in-progress acks, until one is free: after ack_wait the server
    hands it to another executor of the host as well, and meanwhile an idle peer could have run
    it.) The handler's in-progress acks start with the handler (`JobRunner.settle`).

    The handler settles its message through `JobRunner.settle`, which never lets an exception
    out but a nack; REJECT_ON_ERROR is reached only by messages that fail validation, which no
    retry can fix (see dockback_runtime.jobs.runner)."""
    for _ in range(max_workers):
        broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=spec.config,
            pull_sub=PullSub(batch_size=1, timeout=5.0),
            ack_policy=AckPolicy.REJECT_ON_ERROR,
            description=handler.__doc__,
        )(handler)


async def start_consumers(
    broker: NatsBroker,
    settings: NatsClientSettings,
    specs: Sequence[ConsumerSpec],
    stopped: asyncio.Event,
    before_start: Callable[[], Awaitable[bool]] | None = None,
) -> bool:
    """Connect, create or update the worker's consumers (waiting for the gateway to declare the
    streams), run `before_start` (e.g. register the sealing key), then start fetching. False if
    `stopped` was set meanwhile (nothing started)."""
    await broker.connect()
    js = broker.connection.jetstream()
    for spec in specs:
        if not await create_or_update_consumer(js, spec, stopped):
            return False
    if before_start is not None and not await before_start():
        return False
    own_inbox_for_pull_consumers(broker, settings)
    await broker.start()
    await server_has_subscriptions(broker.connection)
    return True
