"""The jobs domain's background work (see `dockback_gateway.runtime`): live progress from core
NATS and the reconciler. Facts are recorded by the shared recorder (`jobs.recording`)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from faststream.nats import NatsBroker

from dockback_contracts import subjects
from dockback_contracts.streams import ConsumerSpec
from dockback_gateway.jobs.cancels import Cancellations
from dockback_gateway.jobs.progress import ProgressBoard
from dockback_gateway.jobs.reconciler import Reconciler
from dockback_gateway.runtime import Runtime

STATE_KEY = "jobs"


@dataclass
class JobsState:
    """The jobs domain's objects of this gateway, in `runtime.state["jobs"]`."""

    progress: ProgressBoard
    cancellations: Cancellations
    reconciler: Reconciler


def state_of(runtime: Runtime) -> JobsState:
    state: JobsState = runtime.state[STATE_KEY]
    return state


def register(broker: NatsBroker, runtime: Runtime) -> list[ConsumerSpec]:
    """No subscribers of its own (the recorder takes the facts); builds the domain's objects."""
    cancellations = Cancellations(lambda: runtime.js)
    runtime.state[STATE_KEY] = JobsState(
        progress=ProgressBoard(runtime.sessions, runtime.settings.progress_write_seconds),
        cancellations=cancellations,
        reconciler=Reconciler(runtime.sessions, runtime.settings, cancellations),
    )
    return []


async def run(runtime: Runtime) -> None:
    """Listen to progress and reconcile until the gateway stops (cancelled then)."""
    state = state_of(runtime)
    subscription = await runtime.broker.connection.subscribe(
        subjects.progress(subjects.ANY, subjects.ANY), cb=state.progress.on_message
    )
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(state.progress.run(), name="jobs-progress")
            tasks.create_task(state.reconciler.run(), name="jobs-reconciler")
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
        await state.cancellations.drain()
