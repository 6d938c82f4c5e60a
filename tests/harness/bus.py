"""Putting requests on the bus as the gateway's outbox relay does."""

from __future__ import annotations

from faststream.nats import NatsBroker

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects


async def publish(nats_url: str, event: ev.Event) -> None:
    """Publish `event` to its JetStream stream with its natural `Nats-Msg-Id`."""
    broker = NatsBroker(nats_url)
    await broker.start()
    try:
        await broker.publish(
            event,
            subjects.subject_for(event),
            stream=streams.stream_for(event),
            headers={"Nats-Msg-Id": subjects.message_id(event)},
        )
    finally:
        await broker.stop()
