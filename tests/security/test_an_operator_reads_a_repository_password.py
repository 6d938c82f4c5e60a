"""An operator and a viewer try to read a repository's password, which opens every snapshot in
it. The real gateway shows repositories to operators without it, gives the recovery sheet to
admins only, audits each export without the password, and nowhere else does the password
appear: not in the plan, the plan's snapshot for the scheduler, the audit log or the list."""

from __future__ import annotations

from gateway.audited_callers import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.plan_requests import create, known_host, snapshot
from sqlalchemy import select

from dockback_contracts.snapshots import plan_repository
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.users.models import Role


async def test_an_operator_reads_a_repository_password(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await known_host(gateway, admin)
        plan = await create(admin, name="snapshots", options={"format": "repository"})
        name = plan_repository(plan["id"])
        sheet_path = f"/repositories/{plan['host_id']}/{name}/recovery-sheet"
        async with logged_in_as(gateway, "ops", Role.OPERATOR) as operator:
            listed = await operator.get("/repositories")
            operator_sheet = await operator.post(sheet_path)
            operator_plan = await operator.get(f"/plans/{plan['id']}")
        async with logged_in_as(gateway, "reader", Role.VIEWER) as viewer:
            viewer_list = await viewer.get("/repositories")
            viewer_sheet = await viewer.post(sheet_path)
        sheet = await admin.post(sheet_path)

    assert [operator_sheet.status_code, viewer_sheet.status_code, viewer_list.status_code] == [403, 403, 403]
    assert listed.status_code == 200
    assert [(r["name"], r["plan_name"], r["snapshots"]) for r in listed.json()] == [(name, "snapshots", 0)]
    assert sheet.status_code == 200
    password = sheet.json()["password"]
    assert len(password) >= 43
    assert password in sheet.json()["text"]
    async with gateway.app.state.sessions() as db:
        audit = list(await db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    exports = [(e.actor, e.action, e.outcome) for e in audit if e.action.startswith("repository.")]
    assert exports == [("admin", "repository.recovery_sheet", "success")]
    plan_snapshot = (await snapshot(gateway, plan["id"])).model_dump_json()
    seen = [listed.text, operator_sheet.text, viewer_sheet.text, operator_plan.text, plan_snapshot]
    seen += [repr(vars(e)) for e in audit]
    assert not any(password in text for text in seen)
