"""The transport every service builds on, proven on a real nats-server with FastStream.

- a contract event published through JetStream arrives intact;
- a second publish with the same Nats-Msg-Id inside the duplicate window is dropped;
- a consumer killed mid-message (SIGKILL) gets the message redelivered to another;
- a long handler that sends in-progress acks is not redelivered;
- a transient failure is retried with backoff (a nack with a delay), while FastStream's
  default policy (REJECT_ON_ERROR) would have terminated the message: the reason every
  DockBack subscriber sets its ack policy on purpose.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from dockback_contracts import events, streams, subjects
from dockback_contracts.streams import ConsumerSpec, RetryPolicy
from dockback_runtime.delivery import keep_alive

HOST = "host-a"
WAIT = 20.0  # upper bound for anything awaited; tests finish as soon as the event arrives


def backup_request() -> events.BackupRequested:
    return events.BackupRequested(
        job_id=uuid.uuid4(), host_id=HOST, resource=events.ResourceRef(kind="volume", name="pgdata")
    )


async def publish(broker: NatsBroker, event: events.Event) -> Any:
    return await broker.publish(
        event,
        subjects.subject_for(event),
        stream=streams.stream_for(event),
        headers={"Nats-Msg-Id": subjects.message_id(event)},
    )


@asynccontextmanager
async def running_subscriber(
    nats_url: str,
    spec: ConsumerSpec,
    js: JetStreamContext,
    ack_policy: AckPolicy,
    handler: Callable[[events.BackupRequested, NatsMessage], Awaitable[None]],
) -> AsyncIterator[NatsBroker]:
    """A FastStream pull subscriber bound to the durable consumer of `spec`, created or updated first."""
    await js.add_consumer(spec.stream, spec.config)
    broker = NatsBroker(nats_url)
    broker.subscriber(
        spec.filter_subject,
        stream=JStream(spec.stream, declare=False),
        durable=spec.durable,
        config=spec.config,
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        ack_policy=ack_policy,
    )(handler)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def test_a_contract_event_published_through_jetstream_is_consumed_intact(
    nats_url: str, js: JetStreamContext
) -> None:
    spec = streams.executor_consumer(HOST, events.BackupRequested)
    received: asyncio.Future[events.BackupRequested] = asyncio.get_running_loop().create_future()

    async def handler(event: events.BackupRequested, msg: NatsMessage) -> None:
        received.set_result(event)

    sent = backup_request()
    async with running_subscriber(nats_url, spec, js, AckPolicy.ACK, handler) as broker:
        await publish(broker, sent)
        got = await asyncio.wait_for(received, WAIT)

    assert got == sent
    assert isinstance(got, events.BackupRequested)


async def test_a_second_publish_with_the_same_msg_id_is_dropped(nats_url: str, js: JetStreamContext) -> None:
    broker = NatsBroker(nats_url)
    await broker.start()
    try:
        first_request = backup_request()
        retry_of_same_job = first_request.model_copy(update={"event_id": uuid.uuid4()})
        first = await publish(broker, first_request)
        second = await publish(broker, retry_of_same_job)
    finally:
        await broker.stop()

    assert not first.duplicate
    assert second.duplicate is True
    assert (await js.stream_info(streams.JOBS_STREAM)).state.messages == 1


async def test_a_consumer_killed_mid_message_has_it_redelivered_to_another(
    nats_url: str, nc: Client, js: JetStreamContext
) -> None:
    spec = streams.executor_consumer(HOST, events.BackupRequested).with_ack_wait(2.0)
    await js.add_consumer(spec.stream, spec.config)
    first_delivery: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def on_probe(message: Msg) -> None:
        if not first_delivery.done():
            first_delivery.set_result(message.data.decode())

    probe = await nc.subscribe("probe.received", cb=on_probe)
    script = Path(__file__).with_name("hanging_consumer.py")
    # A real process, so SIGKILL kills it mid-message (started once; nothing blocks on it).
    victim = subprocess.Popen([sys.executable, str(script), nats_url, HOST, "2.0"])  # noqa: ASYNC220
    try:
        sent = backup_request()
        broker = NatsBroker(nats_url)
        await broker.start()
        await publish(broker, sent)
        await broker.stop()
        assert await asyncio.wait_for(first_delivery, WAIT) == "1"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(WAIT)
    finally:
        victim.kill()
        await probe.unsubscribe()

    redelivered: asyncio.Future[tuple[events.BackupRequested, int]] = asyncio.get_running_loop().create_future()

    async def survivor(event: events.BackupRequested, msg: NatsMessage) -> None:
        redelivered.set_result((event, msg.raw_message.metadata.num_delivered))

    async with running_subscriber(nats_url, spec, js, AckPolicy.ACK, survivor):
        event, num_delivered = await asyncio.wait_for(redelivered, WAIT)

    assert victim.returncode == -signal.SIGKILL
    assert event == sent
    assert num_delivered == 2


async def test_a_long_handler_sending_in_progress_acks_is_not_redelivered(nats_url: str, js: JetStreamContext) -> None:
    ack_wait = 1.0
    spec = streams.executor_consumer(HOST, events.BackupRequested).with_ack_wait(ack_wait)
    deliveries: list[int] = []
    done = asyncio.Event()

    async def long_job(event: events.BackupRequested, msg: NatsMessage) -> None:
        deliveries.append(msg.raw_message.metadata.num_delivered)
        async with keep_alive(msg.in_progress, spec.keep_alive_interval):
            await asyncio.sleep(4 * ack_wait)  # the job itself: four times longer than the ack wait
        done.set()

    async with running_subscriber(nats_url, spec, js, AckPolicy.ACK, long_job) as broker:
        await publish(broker, backup_request())
        await asyncio.wait_for(done.wait(), WAIT)
        info = await _settled_consumer(js, spec)

    assert deliveries == [1]
    assert info.num_redelivered == 0
    assert info.num_ack_pending == 0
    assert (await js.stream_info(streams.JOBS_STREAM)).state.messages == 0  # acked: gone from the work queue


async def test_a_transient_failure_is_retried_after_the_policy_delays(nats_url: str, js: JetStreamContext) -> None:
    retry = RetryPolicy(delays=(0.5, 1.0))
    spec = streams.executor_consumer(HOST, events.BackupRequested).with_retry(retry)
    attempts: list[tuple[int, float]] = []
    succeeded = asyncio.Event()

    async def flaky(event: events.BackupRequested, msg: NatsMessage) -> None:
        attempt = msg.raw_message.metadata.num_delivered
        attempts.append((attempt, time.monotonic()))
        if attempt < 3:
            try:
                raise ConnectionError("engine unreachable")
            except ConnectionError:
                raise NackMessage(delay=retry.delay_after(attempt)) from None
        succeeded.set()

    async with running_subscriber(nats_url, spec, js, AckPolicy.ACK, flaky) as broker:
        await publish(broker, backup_request())
        await asyncio.wait_for(succeeded.wait(), WAIT)

    assert [n for n, _ in attempts] == [1, 2, 3]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.5 * 0.9
    assert gaps[1] >= 1.0 * 0.9


async def test_faststream_default_policy_would_terminate_a_failing_message(nats_url: str, js: JetStreamContext) -> None:
    """Why we never rely on the default: one exception and the job is silently gone."""
    spec = streams.executor_consumer(HOST, events.BackupRequested).with_ack_wait(1.0)
    calls: list[int] = []
    failed = asyncio.Event()

    async def crashes(event: events.BackupRequested, msg: NatsMessage) -> None:
        calls.append(msg.raw_message.metadata.num_delivered)
        failed.set()
        raise RuntimeError("boom")

    async with running_subscriber(nats_url, spec, js, AckPolicy.REJECT_ON_ERROR, crashes) as broker:
        await publish(broker, backup_request())
        await asyncio.wait_for(failed.wait(), WAIT)
        info = await _settled_consumer(js, spec)

    assert calls == [1]
    assert info.num_ack_pending == 0  # terminated: never comes back
    assert info.num_redelivered == 0


async def _settled_consumer(js: JetStreamContext, spec: ConsumerSpec) -> Any:
    """The consumer's state once the last ack or term has been processed by the server."""
    for _ in range(100):
        info = await js.consumer_info(spec.stream, spec.durable)
        if info.num_ack_pending == 0:
            return info
        await asyncio.sleep(0.05)
    return info
