"""Plans through the API: a plan's request body, creating it, a refusal's reasons, a host a
plan may name, and the snapshot of a plan the gateway publishes for the scheduler."""

from __future__ import annotations

from typing import Any

import httpx

from dockback_contracts.snapshots import PlanSnapshot
from dockback_contracts.streams import PLANS_BUCKET
from dockback_gateway.plans.snapshot import PlanPublisher
from gateway.conftest import Gateway
from gateway.host_reports import heartbeat, inventory, report_host, volume

HOST = "plan-host"


def plan_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "nightly",
        "host_id": HOST,
        "targets": [{"kind": "volume", "label_selector": {"backup": "nightly"}}],
        "cron": "0 3 * * *",
        "timezone": "Europe/Berlin",
    }
    body.update(changes)
    return body


async def known_host(gateway: Gateway, client: httpx.AsyncClient, host_id: str = HOST) -> None:
    """A host an executor has reported, so plans may name it."""
    await report_host(gateway, client, inventory(host_id, volumes=[volume("data")]), heartbeat(host_id))


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/plans", json=plan_body(**changes))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def publisher(gateway: Gateway) -> PlanPublisher:
    found: PlanPublisher = gateway.app.state.runtime.state["plans"]
    return found


async def snapshot(gateway: Gateway, plan_id: str) -> PlanSnapshot:
    await publisher(gateway).drain()
    kv = await gateway.app.state.broker.connection.jetstream().key_value(PLANS_BUCKET)
    return PlanSnapshot.model_validate_json((await kv.get(plan_id)).value)


def refusal(response: httpx.Response) -> str:
    """The 422's reason as one string: a schema refusal lists fields, a rule's refusal says it in words."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return detail
    return "; ".join(f"{d['field']}: {d['message']}" for d in detail)
