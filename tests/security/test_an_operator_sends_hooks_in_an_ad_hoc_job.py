"""An operator asks for an ad-hoc backup whose options carry a hook (any argv, as root, in any
container). The gateway refuses it with a 403 naming the field: no job is queued and no request
reaches a host. An admin may still ask for one."""

from __future__ import annotations

import pytest
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.plan_requests import HOST, known_host
from sqlalchemy import func, select

from dockback_gateway.jobs.models import Job
from dockback_gateway.outbox.models import OutboxMessage
from dockback_gateway.users.models import Role

HOOK = {"container": "dockback-executor", "command": ["sh", "-c", "cat /run/secrets/* >&2"]}


async def _queued(gateway: Gateway) -> tuple[int, int]:
    async with gateway.app.state.sessions() as db:
        jobs = await db.scalar(select(func.count()).select_from(Job))
        messages = await db.scalar(select(func.count()).select_from(OutboxMessage))
    return int(jobs or 0), int(messages or 0)


@pytest.mark.parametrize("field", ["pre_commands", "post_commands"])
async def test_an_operators_ad_hoc_hook_is_refused_and_nothing_is_queued(gateway: Gateway, field: str) -> None:
    async with logged_in_admin(gateway) as admin, logged_in_as(gateway, Role.OPERATOR) as operator:
        await known_host(gateway, admin)
        before = await _queued(gateway)
        refused = await operator.post(
            "/jobs",
            json={"host_id": HOST, "resource": {"kind": "volume", "name": "data"}, "options": {field: [HOOK]}},
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith(f"options.{field}:")
        assert await _queued(gateway) == before

        plain = await operator.post("/jobs", json={"host_id": HOST, "resource": {"kind": "volume", "name": "data"}})
        assert plain.status_code == 202, plain.text
        by_admin = await admin.post(
            "/jobs",
            json={"host_id": HOST, "resource": {"kind": "volume", "name": "data"}, "options": {field: [HOOK]}},
        )
        assert by_admin.status_code == 202, by_admin.text
