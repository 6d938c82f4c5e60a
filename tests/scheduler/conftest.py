"""The scheduler on a real nats-server: streams and buckets declared, plans put, events heard.

The server here can be stopped and started again on the same port and store (the outage
test needs that); everything else is what every test of the scheduler shares.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.kv import KeyValue

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.snapshots import PlanSnapshot
from dockback_scheduler.service import Scheduler
from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop

HOST = "host-a"
EVERY_SECOND = "* * * * * *"  # croniter's six-field form: seconds last
WAIT = 20.0  # upper bound for anything awaited; tests go on as soon as it arrives
_TYPES: dict[str, type[ev.Event]] = {t.model_fields["type"].default: t for t in ev.ALL_EVENTS}
E = TypeVar("E", bound=ev.Event)


@dataclass
class RestartableNats:
    """A nats-server -js that a test can stop and start again with the same port and store."""

    tmp_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_and_wait(
            [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.tmp_path / "js")],
            ready_marker="Server is ready",
            log_path=self.tmp_path / "nats-server.log",
        )

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture
def nats_box(tmp_path: Path) -> Iterator[RestartableNats]:
    server = RestartableNats(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def connect(url: str, on_reconnect: Callable[[], None] = lambda: None) -> Client:
    async def reconnected() -> None:
        on_reconnect()

    return await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2, reconnected_cb=reconnected
    )


async def declare(js: JetStreamContext) -> None:
    """Create the streams and buckets from the contracts, as the gateway does at its start."""
    for config in streams.stream_configs():
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
    for kv in streams.kv_configs():
        try:
            await js.key_value(kv.bucket)
        except (NotFoundError, BadRequestError):
            await js.create_key_value(kv)


@pytest_asyncio.fixture
async def nc(nats_box: RestartableNats) -> AsyncIterator[Client]:
    client = await connect(nats_box.url)
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture
async def js(nc: Client) -> JetStreamContext:
    context = nc.jetstream()
    await declare(context)
    return context


@pytest_asyncio.fixture
async def plans_kv(js: JetStreamContext) -> KeyValue:
    return await js.key_value(streams.PLANS_BUCKET)


@pytest_asyncio.fixture
async def watermarks_kv(js: JetStreamContext) -> KeyValue:
    return await js.key_value(streams.SCHEDULER_BUCKET)


def make_plan(**changes: Any) -> PlanSnapshot:
    """A plan that fires every second, created an hour ago, unless told otherwise."""
    values: dict[str, Any] = {
        "plan_id": uuid.uuid4(),
        "revision": 1,
        "name": "every-second",
        "host_id": HOST,
        "enabled": True,
        "cron": EVERY_SECOND,
        "timezone": "Europe/Berlin",
        "targets": (ev.TargetSelector(kind="volume", names=("pgdata",)),),
        "missed_run_grace_seconds": 60,
        "updated_at": datetime.now(UTC).replace(microsecond=0),
    }
    values.update(changes)
    return PlanSnapshot(**values)


def revise(plan: PlanSnapshot, **changes: Any) -> PlanSnapshot:
    """The plan's next revision, changed now."""
    values = {"revision": plan.revision + 1, "updated_at": datetime.now(UTC), **changes}
    return plan.model_copy(update=values)


async def put_plan(kv: KeyValue, plan: PlanSnapshot) -> None:
    await kv.put(str(plan.plan_id), plan.model_dump_json().encode())


@dataclass
class HeardEvent:
    event: ev.Event
    subject: str
    msg_id: str | None
    at: datetime


@dataclass
class Listener:
    """Every DockBack event published on the server, as core NATS delivers it (duplicates too)."""

    heard: list[HeardEvent] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, msg: Msg) -> None:
        event = decode(msg.data)
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        self.heard.append(HeardEvent(event, msg.subject, msg_id, datetime.now(UTC)))
        self.arrived.set()

    def of(self, event_type: type[E], where: Callable[[E], bool] = lambda _: True) -> list[E]:
        return [h.event for h in self.heard if isinstance(h.event, event_type) and where(h.event)]

    def heard_of(self, event_type: type[ev.Event]) -> list[HeardEvent]:
        return [h for h in self.heard if isinstance(h.event, event_type)]

    async def wait_for(
        self, event_type: type[E], where: Callable[[E], bool] = lambda _: True, count: int = 1, within: float = WAIT
    ) -> list[E]:
        """Return once ``count`` matching events were heard; TimeoutError after ``within`` seconds."""
        async with asyncio.timeout(within):
            while len(self.of(event_type, where)) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.of(event_type, where)


def decode(data: bytes) -> ev.Event:
    import json

    return _TYPES[json.loads(data)["type"]].model_validate_json(data)


@pytest_asyncio.fixture
async def listener(nc: Client) -> AsyncIterator[Listener]:
    heard = Listener()
    sub = await nc.subscribe("dockback.>", cb=heard.on_message)
    await nc.flush()
    try:
        yield heard
    finally:
        await sub.unsubscribe()


@asynccontextmanager
async def running_scheduler(url: str, **options: Any) -> AsyncIterator[Scheduler]:
    """A scheduler on its own connection, started (plans loaded) and stopped around the block."""
    scheduler: Scheduler | None = None
    client = await connect(url, on_reconnect=lambda: scheduler.resync_plans() if scheduler else None)
    scheduler = Scheduler(client.jetstream(), **options)
    try:
        await scheduler.start()
        try:
            yield scheduler
        finally:
            await scheduler.stop()
    finally:
        await client.close()


async def stored(js: JetStreamContext, stream: str) -> list[tuple[ev.Event, str | None]]:
    """Every message a stream holds, decoded, with its Nats-Msg-Id."""
    info = await js.stream_info(stream)
    out: list[tuple[ev.Event, str | None]] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        try:
            msg = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        out.append((decode(msg.data or b""), (msg.headers or {}).get("Nats-Msg-Id")))
    return out
