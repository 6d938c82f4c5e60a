"""An operator asks DockBack to back up a container's bind mounts (the host's own files: a path
such as /etc or /root bound into some container), in a plan or an ad-hoc backup. That is an
admin's decision: 403 naming `options.include_bind_mounts`, nothing created or queued. An
operator may still edit a plan an admin gave bind mounts, as long as that setting stays."""

from __future__ import annotations

from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.plan_requests import HOST, create, known_host, plan_body, snapshot
from sqlalchemy import func, select

from dockback_gateway.jobs.models import Job
from dockback_gateway.users.models import Role

BINDS = {"include_bind_mounts": True}


async def test_an_operator_cannot_turn_on_bind_mounts(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin, logged_in_as(gateway, Role.OPERATOR) as operator:
        await known_host(gateway, admin)
        refused = await operator.post("/plans", json=plan_body(name="binds", options=BINDS))
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith("options.include_bind_mounts:")

        plan = await create(operator)
        refused = await operator.put(f"/plans/{plan['id']}", json=plan_body(options=BINDS))
        assert refused.status_code == 403, refused.text
        assert (await snapshot(gateway, plan["id"])).options.include_bind_mounts is False

        refused = await operator.post(
            "/jobs",
            json={"host_id": HOST, "resource": {"kind": "container", "name": "app"}, "options": BINDS},
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith("options.include_bind_mounts:")
        async with gateway.app.state.sessions() as db:
            assert await db.scalar(select(func.count()).select_from(Job)) == 0


async def test_an_operator_may_edit_an_admins_bind_mount_plan_but_not_turn_them_off_or_on(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin, logged_in_as(gateway, Role.OPERATOR) as operator:
        await known_host(gateway, admin)
        plan = await create(admin, options=BINDS)
        kept = await operator.put(f"/plans/{plan['id']}", json=plan_body(cron="0 1 * * *", options=BINDS))
        assert kept.status_code == 200, kept.text
        dropped = await operator.put(f"/plans/{plan['id']}", json=plan_body(options={}))
        assert dropped.status_code == 403, dropped.text
        assert (await snapshot(gateway, plan["id"])).options.include_bind_mounts is True
