"""The gateway's FastAPI application: `create_app(settings)`; nothing connects at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dockback_gateway.settings import Settings
from dockback_gateway.streams import declare_streams

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the API. The lifespan opens the database engine and the broker."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_async_engine(settings.database_url.get_secret_value(), pool_pre_ping=True)
        broker = NatsBroker(
            settings.nats_url.split(","),
            user_credentials=str(settings.nats_credentials_file) if settings.nats_credentials_file else None,
            max_reconnect_attempts=-1,
        )
        await broker.start()
        await declare_streams(broker.connection.jetstream(), settings.stream_replicas)
        app.state.engine = engine
        app.state.broker = broker
        try:
            yield
        finally:
            await broker.stop()
            await engine.dispose()

    app = FastAPI(title="DockBack", version="0.1.0", lifespan=lifespan)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        """Whether the gateway reaches its database and NATS (503 when either is down)."""
        checks: dict[str, Any] = {
            "database": await _database_ok(request.app.state.engine),
            "nats": await request.app.state.broker.ping(timeout=1.0),
        }
        healthy = all(checks.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503)

    return app


async def _database_ok(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("database health check failed", exc_info=True)
        return False
    return True
