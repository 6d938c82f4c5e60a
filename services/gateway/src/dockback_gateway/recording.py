"""The recorder: one durable consumer of every fact, handing each to the domains that record it.

Each fact is recorded in one transaction by every handler registered for its type, then by
its settle steps, then acked. The handlers write what the fact says, each domain its own
rows, in any order; a settle step runs after all of them and decides from what is stored (a
backup succeeds once the catalog holds its archives and their copies). Handlers and settle
steps are idempotent: a fact can arrive twice or out of order. The ack policy is
`consuming.subscribe_facts`'s. A fact about a job, artifact or plan of another host than the
one that published it is refused before any handler sees it (`provenance`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.streams import ConsumerSpec
from dockback_gateway import provenance
from dockback_gateway.consuming import FactParser, subscribe_facts
from dockback_gateway.metrics import observe_recorded
from dockback_runtime.logs import bind_job

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Any], Awaitable[None]]
Handlers = Mapping[type[ev.Event], Sequence[Handler]]

_RECORDED = tuple(t for t in ev.FACTS if t not in (ev.HostInventory, ev.HostHeartbeat, ev.JobProgress))

parse_fact: FactParser[ev.Event] = FactParser(_RECORDED)
"""The recorded fact in a decoded body, or None for a type this gateway does not record."""


def merge(*tables: Handlers) -> dict[type[ev.Event], list[Handler]]:
    merged: dict[type[ev.Event], list[Handler]] = {}
    for table in tables:
        for event_type, handlers in table.items():
            merged.setdefault(event_type, []).extend(handlers)
    return merged


class Recorder:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], handlers: Handlers, settle: Handlers) -> None:
        self.sessions = sessions
        self.handlers = handlers
        self.settle = settle

    async def record(self, event: ev.Event) -> None:
        """Record `event` with every handler of its type, then settle it, in one transaction.

        A `JobsQueued` is recorded as each of its `JobQueued` items would be, all in that one
        transaction; an item about another host's plan is refused on its own.
        """
        facts: tuple[ev.Event, ...] = tuple(event.jobs) if isinstance(event, ev.JobsQueued) else (event,)
        recorded = []
        async with self.sessions.begin() as db:
            for fact in facts:
                job_id = getattr(fact, "job_id", None)
                bind_job(str(job_id) if job_id else None)  # every line logged while recording it carries the job id
                if (foreign := await provenance.foreign_to_catalog(db, fact)) is not None:
                    provenance.refuse(fact, subjects.subject_for(fact), *foreign)
                    continue
                for handler in self.handlers.get(type(fact), ()):
                    await handler(db, fact)
                for step in self.settle.get(type(fact), ()):
                    await step(db, fact)
                recorded.append(fact)
        for fact in recorded:
            observe_recorded(fact)


def register(broker: NatsBroker, recorder: Recorder) -> ConsumerSpec:
    return subscribe_facts(
        broker,
        streams.gateway_recorder_consumer(),
        parse_fact,
        recorder.record,
        what="recorder",
        description="Record job and artifact facts in Postgres.",
    )
