"""Attack: keep a live event stream (GET /jobs/events) open after logging out, after the session
was revoked, or after being demoted, and keep reading what every job does; or open streams
without end to hold the gateway's connections.

A stream ends (with `event: end`) as soon as its session ends (logout, revocation, a role
change ends every session of the user), and a user has at most 8 streams open at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import uvicorn
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from sqlalchemy import select

from dockback_gateway.auth.session_ends import MAX_STREAMS_PER_USER
from dockback_gateway.users.models import Role, User
from harness.eventually import eventually
from harness.processes import free_port

EVENT_STREAM = {"Accept": "text/event-stream"}


@asynccontextmanager
async def served(gateway: Gateway) -> AsyncIterator[str]:
    """The app behind a real HTTP server (the ASGI test transport cannot stream)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(gateway.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def cookies_of(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def until_the_end(lines: AsyncIterator[str]) -> list[str]:
    return [line async for line in lines]


@asynccontextmanager
async def open_stream(url: str, client: httpx.AsyncClient) -> AsyncIterator[AsyncIterator[str]]:
    async with (
        httpx.AsyncClient(base_url=url, headers={"Cookie": cookies_of(client)}, timeout=30) as streaming,
        streaming.stream("GET", "/jobs/events", headers=EVENT_STREAM) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        assert await anext(lines) == ": connected"
        yield lines


async def test_logging_out_closes_the_open_stream(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin, served(gateway) as url, open_stream(url, admin) as lines:
        assert (await admin.post("/auth/logout")).status_code == 204
        rest = await asyncio.wait_for(until_the_end(lines), 10)
        assert "event: end" in rest


async def test_a_demoted_users_stream_closes(gateway: Gateway) -> None:
    async with (
        logged_in_admin(gateway) as admin,
        logged_in_as(gateway, Role.OPERATOR, "otto") as otto,
        served(gateway) as url,
        open_stream(url, otto) as lines,
    ):
        async with gateway.app.state.sessions() as db:
            otto_id = await db.scalar(select(User.id).where(User.username == "otto"))
        demoted = await admin.patch(f"/users/{otto_id}", json={"role": "viewer"})
        assert demoted.status_code == 200, demoted.text
        rest = await asyncio.wait_for(until_the_end(lines), 10)
        assert "event: end" in rest
        assert (await otto.get("/jobs")).status_code == 401


async def test_a_user_opens_at_most_eight_streams(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin, served(gateway) as url, AsyncExitStack() as streams:
        for _ in range(MAX_STREAMS_PER_USER):
            await streams.enter_async_context(open_stream(url, admin))
        async with httpx.AsyncClient(base_url=url, headers={"Cookie": cookies_of(admin)}, timeout=30) as one_more:
            refused = await one_more.get("/jobs/events", headers=EVENT_STREAM)
        assert refused.status_code == 429
        assert str(MAX_STREAMS_PER_USER) in refused.json()["detail"]
