"""The notifier on a real nats-server, with real SMTP servers and a webhook receiver on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import nats
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import sealed, snapshots, streams, subjects
from dockback_contracts.events import TargetSelector
from dockback_notifier.app import Notifier
from dockback_notifier.settings import Settings
from harness.smtp_server import SMTP_USER, SmtpServer

HOST_ID = "h1"
PLAN_ID = UUID("00000000-0000-4000-8000-0000000000b1")
PLAN_NAME = "nightly-postgres"
PGDATA = ev.ResourceRef(kind="volume", name="pgdata")
UI = "https://dockback.example.test"
SMTP_PASSWORD = "s3cret-smtp-pass-Zq9"
SIGNING_SECRET = "whsec-test-signing-7Kp"


_current_settings_key: list[bytes] = []  # the running test's, for put_settings


@pytest.fixture
def settings_key() -> Iterator[bytes]:
    """The settings key: without NATS credentials the notifier derives its sealing key from it."""
    key = os.urandom(32)
    _current_settings_key.append(key)
    try:
        yield key
    finally:
        _current_settings_key.remove(key)


def notifier_key(settings_key: bytes) -> X25519PublicKey:
    """The notifier's public sealing key (derived from the settings key: no NATS credentials here)."""
    return sealed.derive_private_key(settings_key, "notifier").public_key()


@pytest_asyncio.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """A connection to the test's nats-server, with DockBack's streams and buckets created and a plan."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for config in streams.stream_configs():
        await js.add_stream(config)
    for kv_config in streams.kv_configs():
        await js.create_key_value(kv_config)
    plan = snapshots.PlanSnapshot(
        plan_id=PLAN_ID,
        revision=1,
        name=PLAN_NAME,
        host_id=HOST_ID,
        enabled=True,
        cron="0 3 * * *",
        timezone="UTC",
        targets=(TargetSelector(kind="volume", names=("pgdata",)),),
        updated_at=datetime.now(UTC),
    )
    await (await js.key_value(streams.PLANS_BUCKET)).put(str(PLAN_ID), plan.model_dump_json().encode())
    try:
        yield client
    finally:
        await client.close()


def smtp_settings(
    server: SmtpServer, key: bytes, *, password: str | None = None, **overrides: Any
) -> snapshots.SmtpSettings:
    """The SMTP settings for `server`, logging in as its test user (with `password` instead, if given)."""
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "from_address": "dockback@example.test",
        "recipients": ("ops@example.test", "oncall@example.test"),
    }
    if server.password is not None:
        values["username"] = SMTP_USER
        values["password"] = sealed.seal_to(notifier_key(key), snapshots.SMTP_PASSWORD, password or server.password)
    values.update(overrides)
    return snapshots.SmtpSettings(**values)


def webhook(webhook_id: str, url: str, key: bytes, *, signed: bool = True, slack: bool = False) -> snapshots.Webhook:
    secret = (
        sealed.seal_to(notifier_key(key), snapshots.webhook_signing_secret(webhook_id), SIGNING_SECRET)
        if signed
        else None
    )
    sealed_url = sealed.seal_to(notifier_key(key), snapshots.webhook_url(webhook_id), url)
    return snapshots.Webhook(webhook_id=webhook_id, url=sealed_url, signing_secret=secret, slack_format=slack)


async def put_settings(
    nc: Client,
    *,
    smtp: snapshots.SmtpSettings | None = None,
    webhooks: tuple[snapshots.Webhook, ...] = (),
    revision: int = 1,
) -> None:
    assert _current_settings_key, "use the settings_key fixture: the snapshot is sealed to a key derived from it"
    snapshot = snapshots.SettingsSnapshot(
        revision=revision,
        recipient=sealed.public_key_text(notifier_key(_current_settings_key[-1])),
        smtp=smtp,
        webhooks=webhooks,
        ui_base_url=UI,
        updated_at=datetime.now(UTC),
    )
    kv = await nc.jetstream().key_value(streams.SETTINGS_BUCKET)
    await kv.put(snapshots.NOTIFIER_SETTINGS_KEY, snapshot.model_dump_json().encode())


def job_failed(**overrides: Any) -> ev.JobFailed:
    values: dict[str, Any] = {
        "job_id": uuid4(),
        "host_id": HOST_ID,
        "kind": "backup",
        "phase": "upload",
        "reason": "bucket dockback-offsite does not exist",
        "retryable": False,
        "plan_id": PLAN_ID,
        "resource": PGDATA,
    }
    values.update(overrides)
    return ev.JobFailed(**values)


async def publish(nc: Client, event: ev.Event, message_id: str | None = None) -> int:
    """Publish as the producers do: JetStream, with a `Nats-Msg-Id` (the natural key unless given);
    returns the stream sequence."""
    ack = await nc.jetstream().publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": message_id or subjects.message_id(event), "content-type": "application/json"},
    )
    return ack.seq


async def settled(nc: Client, fact_type: type[ev.Event], last_seq: int, within: float = 20.0) -> None:
    """Wait until the notifier's consumer of `fact_type` acked every message up to stream sequence `last_seq`."""
    js = nc.jetstream()
    durable = streams.notifier_consumer(fact_type).durable
    async with asyncio.timeout(within):
        while True:
            info = await js.consumer_info(streams.EVENTS_STREAM, durable)
            if (info.ack_floor.stream_seq or 0) >= last_seq and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)  # server state: polled


StartNotifier = Callable[..., Awaitable[Notifier]]


class NotifierRunner:
    """Starts notifiers in this process (call it); `stop` ends one and waits until it has."""

    def __init__(self, nats_url: str, key_file: Path) -> None:
        self.nats_url = nats_url
        self.key_file = key_file
        self.running: dict[int, tuple[Notifier, asyncio.Task[None]]] = {}

    async def __call__(self, smtp: SmtpServer | None = None, **overrides: Any) -> Notifier:
        values: dict[str, Any] = {
            "nats_url": self.nats_url,
            "settings_key_file": self.key_file,
            "digest_window_seconds": 1.0,
            "delivery_retry_delays_seconds": [0.2, 0.4, 0.8, 1.6, 3.2],
            "smtp_timeout_seconds": 5,
            "webhook_timeout_seconds": 5,
            "smtp_ca_file": smtp.certificate.cert_file if smtp and smtp.certificate else None,
        }
        values.update(overrides)
        notifier = Notifier(Settings(**values))
        task = asyncio.create_task(notifier.run())
        self.running[id(notifier)] = (notifier, task)
        ready = asyncio.create_task(notifier.ready.wait())
        await asyncio.wait([task, ready], timeout=20, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():
            task.result()
        assert notifier.ready.is_set(), "the notifier did not get ready within 20 s"
        return notifier

    async def stop(self, notifier: Notifier) -> None:
        _, task = self.running.pop(id(notifier))
        notifier.stopped.set()
        await task

    async def stop_all(self) -> None:
        for notifier, _ in list(self.running.values()):
            await self.stop(notifier)


@pytest_asyncio.fixture
async def start_notifier(
    nats_url: str, nc: Client, settings_key: bytes, tmp_path: Path
) -> AsyncIterator[NotifierRunner]:
    """Start the notifier in this process (after the test put its settings); stopped after the test."""
    key_file = tmp_path / "settings.key"
    key_file.write_text(settings_key.hex())
    runner = NotifierRunner(nats_url, key_file)
    try:
        yield runner
    finally:
        await runner.stop_all()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A local HTTP server that records every POST; `status` is what it answers."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, within: float = 20.0) -> list[Received]:
        async with asyncio.timeout(within):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.requests[:count]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    state = WebhookReceiver(url="")

    async def on_post(request: web.Request) -> web.Response:
        state.requests.append(Received(dict(request.headers), await request.read()))
        state.arrived.set()
        return web.Response(status=state.status)

    app = web.Application()
    app.router.add_post("/hooks/dockback", on_post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hooks/dockback"
    try:
        yield state
    finally:
        await runner.cleanup()
