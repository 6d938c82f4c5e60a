"""Whether the gateway shows the end-to-end host online (its executor is up and reporting)."""

from __future__ import annotations

import httpx

from e2e.conftest import HOST_ID


async def host_online(client: httpx.AsyncClient) -> bool:
    hosts = (await client.get("/resources/hosts")).json()
    items = hosts["items"] if isinstance(hosts, dict) else hosts
    return any(h["host_id"] == HOST_ID and h["online"] for h in items)
