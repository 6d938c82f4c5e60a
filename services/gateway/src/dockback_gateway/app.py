"""The gateway's FastAPI application: `create_app(settings)`; nothing connects at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dockback_gateway import api_docs, recording
from dockback_gateway.audit import routes as audit_routes
from dockback_gateway.auth import routes as auth_routes
from dockback_gateway.auth.cookies import CookiePolicy
from dockback_gateway.auth.csrf import CsrfCheck
from dockback_gateway.auth.dependencies import enforce_policy, trusted_networks
from dockback_gateway.auth.policy import PUBLIC, mount
from dockback_gateway.auth.service import AuthConfig
from dockback_gateway.catalog import recording as catalog_recording
from dockback_gateway.catalog import routes as catalog_routes
from dockback_gateway.catalog import worker as catalog_worker
from dockback_gateway.config import Settings
from dockback_gateway.dashboard import routes as dashboard_routes
from dockback_gateway.db import make_engine, make_sessions
from dockback_gateway.edges import BodyLimit, HostAllowList, allowed_hosts
from dockback_gateway.errors import install_error_handlers
from dockback_gateway.jobs import recording as jobs_recording
from dockback_gateway.jobs import routes as jobs_routes
from dockback_gateway.jobs import worker as jobs_worker
from dockback_gateway.keys import Cipher, KeyProblem, check_secret_key, parse_aes_key, read_or_create
from dockback_gateway.metrics import HttpMetrics
from dockback_gateway.outbox.relay import OutboxRelay
from dockback_gateway.plans import routes as plans_routes
from dockback_gateway.plans import worker as plans_worker
from dockback_gateway.repositories import routes as repositories_routes
from dockback_gateway.resources import routes as resources_routes
from dockback_gateway.resources import worker as resources_worker
from dockback_gateway.restores import routes as restores_routes
from dockback_gateway.runtime import Runtime
from dockback_gateway.settings import ciphertexts
from dockback_gateway.settings import routes as settings_routes
from dockback_gateway.settings.snapshot import SnapshotPublisher
from dockback_gateway.streams import declare_streams
from dockback_gateway.users import routes as users_routes
from dockback_gateway.users.service import ensure_first_admin
from dockback_runtime.connection import broker_options, own_inbox_for_pull_consumers
from dockback_runtime.logs import adopt_faststream_loggers
from dockback_runtime.metrics import sample_consumer_lag
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)

_STOP_SECONDS = 10.0
WORKERS = (plans_worker, resources_worker, jobs_worker, catalog_worker)


async def _load_cipher(settings: Settings, engine: AsyncEngine) -> Cipher:
    """The at-rest key; never made anew while ciphertext exists, and refused when it does not
    decrypt what is stored (a wrong key would make every secret unreadable)."""
    path = settings.encryption_key_file
    async with AsyncSession(engine) as db:
        stored = await ciphertexts.sample(db)
    interrupted = [p for p in (path.with_name(path.name + ".old"), path.with_name(path.name + ".new")) if p.exists()]
    hint = f" ({' and '.join(map(str, interrupted))} exist: a key rotation was interrupted)" if interrupted else ""
    if stored and not path.exists():
        raise KeyProblem(
            f"the encryption key file {path} is missing but encrypted data exists: restore the "
            f"key file (a new key could not read it){hint}"
        )
    cipher = Cipher(parse_aes_key(read_or_create(path), str(path)))
    if stored and not ciphertexts.opens_any(cipher, stored):
        raise KeyProblem(
            f"the encryption key in {path} does not decrypt the stored data (e.g. {stored[0].name}): it is "
            f"not the key this database was encrypted with; restore the right key file{hint}"
        )
    return cipher


async def _start_settings_publisher(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], cipher: Cipher, broker: NatsBroker
) -> SnapshotPublisher:
    """The publisher of settings snapshots (each recipient's secrets sealed to its own key); publishes once now."""
    # Services that run without NATS credentials (development) derive their keys from this file.
    path = settings.settings_key_file
    parse_aes_key(read_or_create(path), str(path))
    publisher = SnapshotPublisher(sessions, cipher, broker.connection.jetstream(), settings.base_url)
    await publisher.publish_or_log()
    return publisher


def create_app(settings: Settings) -> FastAPI:
    """Build the API. The lifespan opens the database engine and the broker."""
    cookies = CookiePolicy.for_base_url(settings.base_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        secret = (
            settings.secret_key.get_secret_value() if settings.secret_key else read_or_create(settings.secret_key_file)
        )
        secret = check_secret_key(secret)
        engine = make_engine(settings.database_url.get_secret_value())
        sessions = make_sessions(engine)
        cipher = await _load_cipher(settings, engine)
        async with sessions.begin() as db:
            if sealed := await ciphertexts.encrypt_clear_webhook_urls(db, cipher):
                log.info("encrypted %d webhook URLs stored in clear before", sealed)
            password = await ensure_first_admin(db)
        if password is not None:
            log.warning("=" * 72)
            log.warning("FIRST START: log in as 'admin' with password %s (you must change it at first login)", password)
            log.warning("=" * 72)
        broker = NatsBroker(
            **broker_options(settings),
            max_reconnect_attempts=-1,
        )
        runtime = Runtime(settings, sessions, broker, cipher, OutboxRelay(sessions, broker))
        recorder = recording.Recorder(
            sessions, recording.merge(jobs_recording.HANDLERS, catalog_recording.HANDLERS), jobs_recording.SETTLE
        )
        specs = [recording.register(broker, recorder)]
        for worker in WORKERS:
            specs += worker.register(broker, runtime)
        await broker.connect()
        js = broker.connection.jetstream()
        await declare_streams(js, settings.stream_replicas)
        for spec in specs:
            await js.add_consumer(spec.stream, spec.config)  # create, or update a changed config
        own_inbox_for_pull_consumers(broker, settings)
        adopt_faststream_loggers()  # its default logger: JSON lines like ours, per-message lines only at DEBUG
        await broker.start()
        background = [asyncio.create_task(runtime.relay.run(), name="outbox-relay")]
        background += [asyncio.create_task(w.run(runtime), name=w.__name__) for w in WORKERS]
        background.append(asyncio.create_task(sample_consumer_lag(js, specs), name="consumer-lag"))
        app.state.engine, app.state.sessions, app.state.broker = engine, sessions, broker
        app.state.runtime = runtime
        app.state.secret_key = secret
        app.state.auth_config = AuthConfig(
            secret_key=secret,
            access_minutes=settings.access_token_minutes,
            refresh_days=settings.refresh_token_days,
            cipher=cipher,
            engine=engine,
        )
        app.state.settings_publisher = await _start_settings_publisher(settings, sessions, cipher, broker)
        background.append(asyncio.create_task(app.state.settings_publisher.follow_registrations(), name="sealing-keys"))
        try:
            yield
        finally:
            await stop_loops(*background, within=_STOP_SECONDS)
            await app.state.settings_publisher.drain()
            await broker.stop()
            await engine.dispose()

    # The docs and the OpenAPI document are routes of their own, behind the policy table (api_docs).
    app = FastAPI(title="DockBack", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.cookies = cookies
    app.state.trusted_proxies = trusted_networks(settings.trusted_proxies)
    app.add_middleware(CsrfCheck, base_url=settings.base_url, cookies=cookies)
    app.add_middleware(HttpMetrics)
    # Added last, run first: the Host is checked, then the body's size, before anything else.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(HostAllowList, allowed=allowed_hosts(settings.base_url, settings.allowed_host_names()))
    install_error_handlers(app)

    system = APIRouter(tags=["system"], dependencies=[Depends(enforce_policy)])

    @system.get("/health")
    async def health(request: Request) -> JSONResponse:
        """Whether the gateway reaches its database and NATS (503 when either is down)."""
        checks: dict[str, Any] = {
            "database": await _database_ok(request.app.state.engine),
            "nats": await request.app.state.broker.ping(timeout=1.0),
        }
        healthy = all(checks.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503)

    mount(app, system, {("GET", "/health"): PUBLIC})
    for domain in (
        auth_routes,
        users_routes,
        settings_routes,
        audit_routes,
        plans_routes,
        resources_routes,
        jobs_routes,
        catalog_routes,
        restores_routes,
        repositories_routes,
        dashboard_routes,
        api_docs,
    ):
        mount(app, domain.router, domain.POLICY)
    return app


async def _database_ok(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("database health check failed", exc_info=True)
        return False
    return True
