"""An operator tries to make a plan run a command of their choosing as root (a hook), by creating
a plan with one, by changing the hook an admin set, or by removing it; and to make a plan fire
every second. Each is an admin's to decide: the gateway refuses with a 403 naming the field,
and the plan (and the snapshot the scheduler fires from) stays as the admin left it."""

from __future__ import annotations

import uuid

from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.plan_requests import create, known_host, plan_body, snapshot
from sqlalchemy import select

from dockback_gateway.plans.models import Plan
from dockback_gateway.users.models import Role

TAKEOVER = {"container": "dockback-database", "command": ["psql", "-c", "UPDATE users SET role='admin'"]}
DUMP = {"container": "db", "command": ["pg_dump", "--password=hook-canary-secret", "app"]}


async def _plans_named(gateway: Gateway, name: str) -> list[Plan]:
    async with gateway.app.state.sessions() as db:
        return list((await db.scalars(select(Plan).where(Plan.name == name))).all())


async def test_an_operator_cannot_create_a_plan_with_a_hook(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await known_host(gateway, admin)
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        for field in ("pre_commands", "post_commands"):
            refused = await operator.post("/plans", json=plan_body(name="pwn", options={field: [TAKEOVER]}))
            assert refused.status_code == 403, refused.text
            assert f"options.{field}" in refused.json()["detail"]
        allowed = await operator.post("/plans", json=plan_body(name="plain"))
        assert allowed.status_code == 201, allowed.text
    assert await _plans_named(gateway, "pwn") == []


async def test_an_operator_cannot_change_or_remove_the_hooks_an_admin_set(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await known_host(gateway, admin)
        plan = await create(admin, options={"pre_commands": [DUMP]})
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        changed = await operator.put(f"/plans/{plan['id']}", json=plan_body(options={"pre_commands": [TAKEOVER]}))
        assert changed.status_code == 403, changed.text
        assert "options.pre_commands" in changed.json()["detail"]
        removed = await operator.put(f"/plans/{plan['id']}", json=plan_body(options={}))
        assert removed.status_code == 403, removed.text
        added = await operator.put(
            f"/plans/{plan['id']}", json=plan_body(options={"pre_commands": [DUMP], "post_commands": [TAKEOVER]})
        )
        assert added.status_code == 403, added.text
        assert "options.post_commands" in added.json()["detail"]

        # What the operator may do: edit the rest, sending the hooks back as they were shown.
        shown = (await operator.get(f"/plans/{plan['id']}")).json()
        assert shown["hook_argv_hidden"] is True
        edited = await operator.put(f"/plans/{plan['id']}", json=plan_body(cron="0 4 * * *", options=shown["options"]))
        assert edited.status_code == 200, edited.text
    stored = (await snapshot(gateway, plan["id"])).options
    assert [list(h.command) for h in stored.pre_commands] == [DUMP["command"]]
    assert stored.post_commands == ()
    async with logged_in_as(gateway, Role.ADMIN, "second-admin") as admin:
        seen = (await admin.get(f"/plans/{plan['id']}")).json()
        assert seen["cron"] == "0 4 * * *"
        assert seen["options"]["pre_commands"][0]["command"] == DUMP["command"]


async def test_an_operator_cannot_make_a_plan_fire_more_than_once_a_minute(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await known_host(gateway, admin)
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        refused = await operator.post("/plans", json=plan_body(name="busy", cron="* * * * * */1"))
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith("cron:")
        refused = await operator.post("/plans", json=plan_body(name="busy", verify_cron="* * * * * *"))
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith("verify_cron:")
        once = await operator.post("/plans", json=plan_body(name="once a minute", cron="* * * * * 30"))
        assert once.status_code == 201, once.text
    async with logged_in_as(gateway, Role.ADMIN, "second-admin") as admin:
        assert (await admin.post("/plans", json=plan_body(name="busy", cron="* * * * * */1"))).status_code == 201


async def test_an_admin_may_set_hooks_and_a_viewer_may_not_touch_plans(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await known_host(gateway, admin)
        plan = await create(admin, options={"pre_commands": [DUMP]})
        assert plan["options"]["pre_commands"][0]["command"] == DUMP["command"]
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        refused = await viewer.put(f"/plans/{plan['id']}", json=plan_body(options={"pre_commands": [TAKEOVER]}))
        assert refused.status_code == 403
    assert uuid.UUID(plan["id"])
