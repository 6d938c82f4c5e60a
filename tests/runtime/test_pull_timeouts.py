"""An empty fetch of a pull consumer always ends in the timeout FastStream takes as "nothing yet"."""

from __future__ import annotations

import nats
import nats.errors
from nats.js.api import ConsumerConfig, StreamConfig

import dockback_runtime  # noqa: F401 - applies the fix on import


async def test_every_empty_fetch_raises_the_nats_timeout_a_pull_consumer_waits_through(nats_url: str) -> None:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        await js.add_stream(StreamConfig(name="EMPTY_FETCHES", subjects=["empty.fetches"]))
        subscription = await js.pull_subscribe("empty.fetches", durable="empty", config=ConsumerConfig())
        raised: list[type[BaseException]] = []
        for timeout in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.05) * 10:  # short: the deadline path is taken
            try:
                await subscription.fetch(batch=20, timeout=timeout)
            except TimeoutError as exc:
                raised.append(type(exc))
    finally:
        await client.close()

    assert raised, "an empty stream returned messages"
    assert set(raised) == {nats.errors.TimeoutError}
