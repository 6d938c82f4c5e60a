"""The transactional outbox and its relay, on a real PostgreSQL and a real nats-server that the
tests stop and start again: committed rows go out with their id as Nats-Msg-Id, rolled-back
ones never do, a broker outage leaves rows pending until it is back, and two relays side by
side publish each row once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.streams import JOBS_STREAM
from dockback_gateway.db import make_engine, make_sessions
from dockback_gateway.migrate import upgrade
from dockback_gateway.outbox.models import OutboxMessage
from dockback_gateway.outbox.relay import OutboxRelay
from dockback_gateway.outbox.service import enqueue
from dockback_gateway.streams import declare_streams
from harness.eventually import eventually
from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop

HOST = "host-outbox"


class NatsProcess:
    """A nats-server that a test can stop and start again on the same port and store."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.store = directory / "jetstream"
        self.log = directory / "nats-outbox.log"
        self.process = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)]
        self.process = start_and_wait(argv, ready_marker="Server is ready", log_path=self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@dataclass
class Outbox:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    nats: NatsProcess
    broker: NatsBroker

    def relay(self, broker: NatsBroker | None = None) -> OutboxRelay:
        return OutboxRelay(self.sessions, broker or self.broker)

    async def stream_messages(self) -> int:
        info = await self.broker.connection.jetstream().stream_info(JOBS_STREAM)
        return int(info.state.messages)

    async def pending(self) -> list[OutboxMessage]:
        async with self.sessions() as db:
            query = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
            return list((await db.scalars(query)).all())


async def connected_broker(url: str) -> NatsBroker:
    broker = NatsBroker(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await broker.connect()
    return broker


@pytest_asyncio.fixture
async def outbox(database_url: str, tmp_path: Path) -> AsyncIterator[Outbox]:
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    nats = NatsProcess(tmp_path)
    nats.start()
    broker = await connected_broker(nats.url)
    try:
        await declare_streams(broker.connection.jetstream(), 1)
        yield Outbox(engine, make_sessions(engine), nats, broker)
    finally:
        await broker.stop()
        nats.stop()
        await engine.dispose()


def request(job_id: uuid.UUID | None = None) -> ev.BackupRequested:
    return ev.BackupRequested(
        job_id=job_id or uuid.uuid4(), host_id=HOST, resource=ev.ResourceRef(kind="volume", name="data")
    )


async def test_a_committed_row_goes_out_with_its_id_as_the_message_id(outbox: Outbox) -> None:
    event = request()
    async with outbox.sessions.begin() as db:
        row = enqueue(db, event, message_id=event.job_id)

    assert await outbox.relay().publish_pending() is True
    message = await outbox.broker.connection.jetstream().get_last_msg(JOBS_STREAM, subjects.subject_for(event))
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == str(row.id) == str(event.job_id)
    assert ev.BackupRequested.model_validate_json(message.data or b"") == event
    assert await outbox.pending() == []


async def test_a_rolled_back_transaction_publishes_nothing(outbox: Outbox) -> None:
    async with outbox.sessions() as db:
        await db.begin()
        enqueue(db, request())
        await db.flush()
        await db.rollback()

    assert await outbox.relay().publish_pending() is True
    assert await outbox.stream_messages() == 0
    async with outbox.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_rows_wait_while_nats_is_down_and_go_out_when_it_is_back(outbox: Outbox) -> None:
    outbox.nats.stop()
    event = request()
    async with outbox.sessions.begin() as db:
        enqueue(db, event, message_id=event.job_id)
    relay = outbox.relay()

    assert await relay.publish_pending() is False
    [row] = await outbox.pending()
    assert row.attempts == 1
    assert row.last_error

    outbox.nats.start()
    await eventually(relay.publish_pending, timeout=30, interval=0.5)
    assert await outbox.pending() == []
    assert await outbox.stream_messages() == 1


async def test_two_relays_at_once_publish_each_row_once(outbox: Outbox) -> None:
    count = 250  # more than a batch, so the relays take turns between batches
    async with outbox.sessions.begin() as db:
        for _ in range(count):
            enqueue(db, request())
    seen: list[str] = []

    async def count_publish(msg: Msg) -> None:
        seen.append(msg.headers["Nats-Msg-Id"] if msg.headers else "")

    # A core subscription sees every publish, duplicates included (the stream would hide them).
    watcher = await connected_broker(outbox.nats.url)
    other = await connected_broker(outbox.nats.url)
    try:
        await watcher.connection.subscribe(subjects.request(ev.BackupRequested, HOST), cb=count_publish)
        await watcher.connection.flush()
        results = await asyncio.gather(outbox.relay().publish_pending(), outbox.relay(other).publish_pending())
        assert results == [True, True]
        await eventually(lambda: len(seen) >= count)
        await watcher.connection.flush()
    finally:
        await other.stop()
        await watcher.stop()
    assert len(seen) == count
    assert len(set(seen)) == count
    assert await outbox.stream_messages() == count
    assert await outbox.pending() == []
