"""The plans domain's background work (see `dockback_gateway.runtime`): the snapshot sweep."""

from __future__ import annotations

import asyncio
import logging

from faststream.nats import NatsBroker

from dockback_contracts.streams import ConsumerSpec
from dockback_gateway.plans.snapshot import PlanPublisher
from dockback_gateway.runtime import Runtime

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 300.0
RETRY_SECONDS = 10.0


def register(broker: NatsBroker, runtime: Runtime) -> list[ConsumerSpec]:
    """No subscribers; makes the snapshot publisher the routes use (`runtime.state["plans"]`)."""
    runtime.state["plans"] = PlanPublisher(runtime)
    return []


async def run(runtime: Runtime) -> None:
    """Sweep the plans bucket at start (a new NATS, a lost bucket or a publication lost in a
    crash catches up) and every few minutes after; a failed sweep is retried soon."""
    publisher: PlanPublisher = runtime.state["plans"]
    while True:
        try:
            repaired = await publisher.sweep()
        except Exception:
            log.exception("plans: snapshot sweep failed; trying again in %.0fs", RETRY_SECONDS)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if repaired:
            log.info("plans: the sweep published or deleted %d plan snapshots", repaired)
        await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
