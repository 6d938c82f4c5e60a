"""The jobs domain's background work (see `dockback_gateway.runtime`)."""

from __future__ import annotations

from faststream.nats import NatsBroker

from dockback_contracts.streams import ConsumerSpec
from dockback_gateway.runtime import Runtime


def register(broker: NatsBroker, runtime: Runtime) -> list[ConsumerSpec]:
    """Subscribers to add before the broker starts."""
    return []


async def run(runtime: Runtime) -> None:
    """Loops to run until the gateway stops (cancelled then)."""
