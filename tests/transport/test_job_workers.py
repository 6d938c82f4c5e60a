"""Job workers sharing one host's consumer (two executors of a host): a message is fetched only
by a worker with a free slot, so a job waits for whichever worker frees up first, never inside
a busy one. Real nats-server, the real `subscribe_job`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream.nats import NatsBroker, NatsMessage
from nats.js import JetStreamContext

from dockback_contracts import events, streams, subjects
from dockback_contracts.streams import ConsumerSpec
from dockback_runtime.jobs.worker import subscribe_job

HOST = "host-a"
WAIT = 20.0  # upper bound for anything awaited; the tests finish as soon as the event arrives


@asynccontextmanager
async def worker(
    nats_url: str, spec: ConsumerSpec, name: str, slots: int, started: asyncio.Queue[tuple[str, uuid.UUID, int]]
) -> AsyncIterator[asyncio.Event]:
    """A worker with `slots` job slots whose jobs run until the event it yields is set."""
    release = asyncio.Event()

    async def job(event: events.BackupRequested, msg: NatsMessage) -> None:
        await started.put((name, event.job_id, msg.raw_message.metadata.num_delivered))
        await release.wait()

    broker = NatsBroker(nats_url)
    subscribe_job(broker, spec, job, max_workers=slots)
    await broker.start()
    try:
        yield release
    finally:
        release.set()
        await broker.stop()


async def test_a_job_waiting_for_a_slot_goes_to_the_idle_worker_not_the_busy_one(
    nats_url: str, js: JetStreamContext
) -> None:
    spec = streams.executor_consumer(HOST, events.BackupRequested)  # ack_wait 60 s: no redelivery in the test
    await js.add_consumer(spec.stream, spec.config)
    started: asyncio.Queue[tuple[str, uuid.UUID, int]] = asyncio.Queue()
    requests = [
        events.BackupRequested(job_id=uuid.uuid4(), host_id=HOST, resource=events.ResourceRef(kind="volume", name=n))
        for n in ("a", "b", "c")
    ]

    async with worker(nats_url, spec, "busy", 2, started):
        for request in requests:
            await js.publish(
                subjects.subject_for(request),
                request.model_dump_json().encode(),
                stream=spec.stream,
                headers={"Nats-Msg-Id": subjects.message_id(request)},
            )
        first = [await asyncio.wait_for(started.get(), WAIT) for _ in range(2)]
        # Both slots of the first worker are taken; the third job must still be the server's to give.
        info = await js.consumer_info(spec.stream, spec.durable)
        async with worker(nats_url, spec, "idle", 1, started):
            third = await asyncio.wait_for(started.get(), WAIT)

    assert {name for name, _, _ in first} == {"busy"}
    assert info.num_ack_pending == 2
    assert info.num_pending == 1
    assert third[0] == "idle"
    assert third[2] == 1  # its first delivery: it never sat unacknowledged in the busy worker
    assert {job for _, job, _ in [*first, third]} == {r.job_id for r in requests}
