"""Publishing the uploader's facts to JetStream with their natural `Nats-Msg-Id`."""

from __future__ import annotations

from faststream.nats import NatsBroker

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_runtime.jobs.errors import TransientError
from dockback_uploader.metrics import observe_published


class Announcer:
    """Publishes events so that announcing twice stores once."""

    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker

    async def publish(self, event: ev.Event) -> None:
        try:
            await self.broker.publish(
                event,
                subjects.subject_for(event),
                stream=streams.stream_for(event),
                headers={"Nats-Msg-Id": subjects.message_id(event)},
            )
        except Exception as exc:
            raise TransientError(f"could not publish {type(event).__name__}: {exc}") from exc
        observe_published(event)
