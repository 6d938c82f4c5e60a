"""The gateway's FastAPI application: `create_app(settings)`; nothing connects at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from dockback_gateway.audit import routes as audit_routes
from dockback_gateway.auth import routes as auth_routes
from dockback_gateway.auth.cookies import CookiePolicy
from dockback_gateway.auth.csrf import csrf_middleware
from dockback_gateway.auth.dependencies import enforce_policy
from dockback_gateway.auth.service import AuthConfig
from dockback_gateway.db import make_engine, make_sessions
from dockback_gateway.errors import install_error_handlers
from dockback_gateway.keys import Cipher, KeyProblem, check_secret_key, parse_aes_key, read_or_create
from dockback_gateway.settings import Settings
from dockback_gateway.streams import declare_streams
from dockback_gateway.users import routes as users_routes
from dockback_gateway.users.models import User
from dockback_gateway.users.service import ensure_first_admin

log = logging.getLogger(__name__)


async def _load_cipher(settings: Settings, engine: AsyncEngine) -> Cipher:
    """The at-rest key; never made anew while ciphertext exists (it would be unreadable)."""
    path = settings.encryption_key_file
    if not path.exists():
        async with engine.connect() as connection:
            has_ciphertext = await connection.scalar(select(exists().where(User.totp_secret.is_not(None))))
        if has_ciphertext:
            raise KeyProblem(
                f"the encryption key file {path} is missing but encrypted data exists: restore the "
                "key file (a new key could not read it)"
            )
    return Cipher(parse_aes_key(read_or_create(path), str(path)))


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
            password = await ensure_first_admin(db)
        if password is not None:
            log.warning("=" * 72)
            log.warning("FIRST START: log in as 'admin' with password %s (you must change it at first login)", password)
            log.warning("=" * 72)
        broker = NatsBroker(
            settings.nats_url.split(","),
            user_credentials=str(settings.nats_credentials_file) if settings.nats_credentials_file else None,
            max_reconnect_attempts=-1,
        )
        await broker.start()
        await declare_streams(broker.connection.jetstream(), settings.stream_replicas)
        app.state.engine, app.state.sessions, app.state.broker = engine, sessions, broker
        app.state.secret_key = secret
        app.state.auth_config = AuthConfig(
            secret_key=secret,
            access_minutes=settings.access_token_minutes,
            refresh_days=settings.refresh_token_days,
            cipher=cipher,
        )
        try:
            yield
        finally:
            await broker.stop()
            await engine.dispose()

    app = FastAPI(title="DockBack", version="0.1.0", lifespan=lifespan)
    app.state.cookies = cookies
    app.middleware("http")(csrf_middleware(settings.base_url, cookies))
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

    app.include_router(system)
    app.include_router(auth_routes.router)
    app.include_router(users_routes.router)
    app.include_router(audit_routes.router)
    return app


async def _database_ok(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("database health check failed", exc_info=True)
        return False
    return True
