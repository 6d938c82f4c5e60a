"""A page on rebind.attacker.example points its name at the gateway's address (DNS rebinding)
and talks to the gateway as a same-origin page: its requests carry `Host: rebind.attacker.example`.
The real gateway process answers only to the host of DOCKBACK_BASE_URL, the loopback names and
DOCKBACK_ALLOWED_HOSTS; every other Host gets 421 before any route (the login included) runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from harness.gateway_process import GatewayProcess, run_gateway

BASE = "backups.example.org"
PROXY = "dockback-gateway"


@pytest.fixture
def gateway_process(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    with run_gateway(
        database_url,
        nats_url,
        tmp_path,
        DOCKBACK_BASE_URL=f"https://{BASE}",
        DOCKBACK_ALLOWED_HOSTS=f" {PROXY}, ",
    ) as process:
        yield process


async def test_dns_rebinding_reaches_the_gateway(gateway_process: GatewayProcess) -> None:
    port = urlsplit(gateway_process.url).port
    async with httpx.AsyncClient(base_url=gateway_process.url) as client:
        for host in ("rebind.attacker.example", f"rebind.attacker.example:{port}", f"{BASE}.attacker.example", ""):
            health = await client.get("/health", headers={"Host": host})
            assert health.status_code == 421, (host, health.text)
            assert health.json()["error"] == "misdirected_request"
            assert "DOCKBACK_BASE_URL" in health.json()["detail"]
            login = await client.post(
                "/auth/login",
                json={"username": "admin", "password": gateway_process.admin_password},
                headers={"Host": host, "Origin": f"http://{host}"},
            )
            assert login.status_code == 421, (host, login.text)
            assert "set-cookie" not in login.headers

        for host in (BASE, f"{BASE.upper()}:443", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", PROXY):
            assert (await client.get("/health", headers={"Host": host})).status_code == 200, host
