"""The resources domain's background work: recording host inventories and heartbeats.

One durable consumer of the hosts stream (last message per subject: a gateway that starts
fresh learns every host's latest state at once). Ack policy, chosen on purpose: a fact that
cannot be parsed is logged and dropped (no retry can fix it); one that fails to record (the
database is away) is nacked with a delay and comes back, until the retry budget is spent,
after which the next heartbeat or inventory (sent every few seconds) supersedes it anyway.
"""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.streams import ConsumerSpec
from dockback_gateway.consuming import FactParser, subscribe_facts
from dockback_gateway.resources.recording import record_heartbeat, record_inventory
from dockback_gateway.runtime import Runtime

log = logging.getLogger(__name__)

parse_host_fact: FactParser[ev.Event] = FactParser((ev.HostInventory, ev.HostHeartbeat))
"""The host fact in a decoded body, or None for a type this gateway does not know."""


async def record_host_fact(
    sessions: async_sessionmaker[AsyncSession], fact: ev.HostInventory | ev.HostHeartbeat
) -> None:
    async with sessions.begin() as db:
        if isinstance(fact, ev.HostInventory):
            await record_inventory(db, fact)
        else:
            await record_heartbeat(db, fact)


def register(broker: NatsBroker, runtime: Runtime) -> list[ConsumerSpec]:
    """Subscribers to add before the broker starts."""

    async def record(fact: ev.Event) -> None:
        assert isinstance(fact, (ev.HostInventory, ev.HostHeartbeat))  # all that parse_host_fact returns
        await record_host_fact(runtime.sessions, fact)

    spec = subscribe_facts(
        broker,
        streams.gateway_hosts_consumer(),
        parse_host_fact,
        record,
        what="hosts",
        description="Keep each host's latest inventory and heartbeat in Postgres.",
    )
    return [spec]


async def run(runtime: Runtime) -> None:
    """No loops: a host's online state is computed from its heartbeat's age when read."""
