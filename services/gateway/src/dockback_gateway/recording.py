"""The recorder: one durable consumer of every fact, handing each to the domains that record it.

Each fact is recorded in one transaction by every handler registered for its type (jobs
first, then the catalog), then acked. Handlers are idempotent: a fact can arrive twice or
out of order. A fact that fails to record for a transient reason (the database is down) is
nacked with a delay and comes back; a fact that cannot be parsed is logged and dropped,
since no retry can fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Union

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.streams import ConsumerSpec

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Any], Awaitable[None]]
Handlers = Mapping[type[ev.Event], Sequence[Handler]]

_RECORDED = tuple(t for t in ev.FACTS if t not in (ev.HostInventory, ev.HostHeartbeat, ev.JobProgress))
_FACT: TypeAdapter[ev.Event] = TypeAdapter(
    Annotated[Union[_RECORDED], Field(discriminator="type")]  # type: ignore[arg-type]  # noqa: UP007 - built at runtime
)
_KNOWN = {t.model_fields["type"].default for t in _RECORDED}


def parse_fact(body: dict[str, Any]) -> ev.Event | None:
    """The fact in `body`, or None for a type this gateway does not record (a newer producer's)."""
    if body.get("type") not in _KNOWN:
        return None
    return _FACT.validate_python(body)


def merge(*tables: Handlers) -> dict[type[ev.Event], list[Handler]]:
    merged: dict[type[ev.Event], list[Handler]] = {}
    for table in tables:
        for event_type, handlers in table.items():
            merged.setdefault(event_type, []).extend(handlers)
    return merged


class Recorder:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], handlers: Handlers) -> None:
        self.sessions = sessions
        self.handlers = handlers

    async def record(self, event: ev.Event) -> None:
        """Record `event` with every handler of its type, in one transaction."""
        async with self.sessions.begin() as db:
            for handler in self.handlers.get(type(event), ()):
                await handler(db, event)


def register(broker: NatsBroker, recorder: Recorder) -> ConsumerSpec:
    spec = streams.gateway_recorder_consumer()

    @broker.subscriber(
        spec.filter_subject,
        stream=JStream(spec.stream, declare=False),
        durable=spec.durable,
        config=spec.config,
        pull_sub=PullSub(batch_size=20, timeout=5.0),
        ack_policy=AckPolicy.REJECT_ON_ERROR,  # only reached by a body that is not JSON: see below
        description="Record job and artifact facts in Postgres.",
    )
    async def on_fact(body: dict[str, Any], msg: NatsMessage) -> None:
        try:
            event = parse_fact(body)
        except ValidationError as exc:
            log.error("recorder: dropping a malformed %s: %s", body.get("type"), exc)
            return
        if event is None:
            return
        try:
            await recorder.record(event)
        except Exception as exc:
            attempt = msg.raw_message.metadata.num_delivered
            delay = spec.retry.delay_after(attempt)
            if delay is None:
                log.error("recorder: giving up on %s after %d attempts", body.get("type"), attempt, exc_info=True)
                return
            log.warning("recorder: %s not recorded (%s); retrying in %.0fs", body.get("type"), exc, delay)
            raise NackMessage(delay=delay) from exc

    return spec
