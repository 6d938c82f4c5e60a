"""Attack: send a made-up X-Forwarded-For with each wrong login, so the per-address brake counts
an address of the attacker's choice (a fresh one each time, or the admin's own).

The gateway reads X-Forwarded-For only from the proxies named in DOCKBACK_TRUSTED_PROXIES, right
to left, up to the first address that is not one of them: anything a client writes further left
is ignored, and a peer that is not a trusted proxy is counted by its own address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from gateway.conftest import BASE_URL, Gateway, settings_for
from sqlalchemy import select

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.models import LoginBrake
from dockback_gateway.config import Settings

PROXY = "10.9.8.7"
ATTACKER = "192.0.2.50"


@pytest.fixture
def gateway_settings(database_url: str, nats_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, nats_url, tmp_path, trusted_proxies=f"{PROXY}, 172.30.0.0/16")


@asynccontextmanager
async def connected_from(gateway: Gateway, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway.app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers={"Origin": BASE_URL}) as client:
        yield client


async def wrong_login(client: httpx.AsyncClient, forwarded_for: str) -> None:
    answer = await client.post(
        "/auth/login",
        json={"username": "nobody", "password": "wrong-guess"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert answer.status_code == 401


async def counted_addresses(gateway: Gateway) -> set[str]:
    async with gateway.app.state.sessions() as db:
        keys = (await db.scalars(select(LoginBrake.key).where(LoginBrake.key.startswith("ip:")))).all()
        audited = (await db.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login"))).all()
    assert {f"ip:{ip}" for ip in audited} == set(keys), "the audit log names the address the brake counts"
    return {key.removeprefix("ip:") for key in keys}


async def test_a_peer_that_is_no_trusted_proxy_is_counted_by_its_own_address(gateway: Gateway) -> None:
    async with connected_from(gateway, ATTACKER) as attacker:
        for i in range(3):
            await wrong_login(attacker, f"203.0.113.{i}")
        await wrong_login(attacker, f"{PROXY}, 198.51.100.1")
    assert await counted_addresses(gateway) == {ATTACKER}


async def test_behind_a_trusted_proxy_the_client_cannot_choose_its_address(gateway: Gateway) -> None:
    async with connected_from(gateway, PROXY) as proxy:
        # The client wrote "203.0.113.7"; the proxy appended the address it saw, the attacker's.
        await wrong_login(proxy, f"203.0.113.7, {ATTACKER}")
        # Through two trusted proxies: the nearer one appended the farther one's address.
        await wrong_login(proxy, f"203.0.113.8, {ATTACKER}, 172.30.1.2")
        # Garbage that a client sent, followed by what the proxy saw.
        await wrong_login(proxy, f"not-an-address, {ATTACKER}")
    assert await counted_addresses(gateway) == {ATTACKER}


async def test_behind_a_trusted_proxy_without_the_header_the_proxy_is_the_client(gateway: Gateway) -> None:
    async with connected_from(gateway, PROXY) as proxy:
        answer = await proxy.post("/auth/login", json={"username": "nobody", "password": "wrong-guess"})
        assert answer.status_code == 401
    assert await counted_addresses(gateway) == {PROXY}
