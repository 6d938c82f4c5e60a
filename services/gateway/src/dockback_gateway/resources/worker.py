"""The resources domain's background work: recording host inventories and heartbeats.

One durable consumer of the hosts stream (last message per subject: a gateway that starts
fresh learns every host's latest state at once). Ack policy, chosen on purpose: a fact that
cannot be parsed is logged and dropped (no retry can fix it); one that fails to record (the
database is away) is nacked with a delay and comes back, until the retry budget is spent,
after which the next heartbeat or inventory (sent every few seconds) supersedes it anyway.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Union

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.streams import ConsumerSpec
from dockback_gateway.resources.recording import record_heartbeat, record_inventory
from dockback_gateway.runtime import Runtime

log = logging.getLogger(__name__)

HostFact = Annotated[Union[ev.HostInventory, ev.HostHeartbeat], Field(discriminator="type")]  # noqa: UP007
_FACT: TypeAdapter[ev.HostInventory | ev.HostHeartbeat] = TypeAdapter(HostFact)
_KNOWN = {t.model_fields["type"].default for t in (ev.HostInventory, ev.HostHeartbeat)}


def parse_host_fact(body: dict[str, Any]) -> ev.HostInventory | ev.HostHeartbeat | None:
    """The fact in `body`, or None for a type this gateway does not know (a newer executor's)."""
    if body.get("type") not in _KNOWN:
        return None
    return _FACT.validate_python(body)


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
    spec = streams.gateway_hosts_consumer()

    @broker.subscriber(
        spec.filter_subject,
        stream=JStream(spec.stream, declare=False),
        durable=spec.durable,
        config=spec.config,
        pull_sub=PullSub(batch_size=20, timeout=5.0),
        ack_policy=AckPolicy.REJECT_ON_ERROR,  # only reached by a body that is not JSON: see below
        description="Keep each host's latest inventory and heartbeat in Postgres.",
    )
    async def on_host_fact(body: dict[str, Any], msg: NatsMessage) -> None:
        try:
            fact = parse_host_fact(body)
        except ValidationError as exc:
            log.error("hosts: dropping a malformed %s: %s", body.get("type"), exc)
            return
        if fact is None:
            return
        try:
            await record_host_fact(runtime.sessions, fact)
        except Exception as exc:
            attempt = msg.raw_message.metadata.num_delivered
            delay = spec.retry.delay_after(attempt)
            if delay is None:
                log.error(
                    "hosts: giving up on %s of %s after %d attempts", fact.type, fact.host_id, attempt, exc_info=True
                )
                return
            log.warning("hosts: %s of %s not recorded (%s); retrying in %.0fs", fact.type, fact.host_id, exc, delay)
            raise NackMessage(delay=delay) from exc

    return [spec]


async def run(runtime: Runtime) -> None:
    """No loops: a host's online state is computed from its heartbeat's age when read."""
