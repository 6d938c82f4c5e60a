"""Admins managing accounts on the real gateway: create, list, role, disable, resets, last admin."""

from __future__ import annotations

import asyncio

import pyotp
import pytest
from sqlalchemy import func, select

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.users.models import RecoveryCode, User
from gateway.accounts import OWN, TEMPORARY, create_user, first_login
from gateway.conftest import ADMIN_PASSWORD, Gateway, logged_in_admin, login


async def test_an_admin_creates_a_user_who_must_change_the_password_at_first_login(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        created = await admin.post("/users", json={"username": "bob.ops_1", "role": "operator", "password": TEMPORARY})
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("username", "role", "disabled", "must_change_password", "mfa_enabled")} == {
        "username": "bob.ops_1",
        "role": "operator",
        "disabled": False,
        "must_change_password": True,
        "mfa_enabled": False,
    }
    async with gateway.client() as client:
        first = await login(client, "bob.ops_1", TEMPORARY)
        assert first.json()["must_change_password"] is True
        assert (await client.get("/users/me/mfa")).status_code == 403


async def test_admins_list_every_user(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await create_user(admin, "zed", "viewer")
        await create_user(admin, "bob", "operator")
        listed = await admin.get("/users")
    assert listed.status_code == 200
    assert [(u["username"], u["role"]) for u in listed.json()] == [
        ("admin", "admin"),
        ("bob", "operator"),
        ("zed", "viewer"),
    ]


async def test_an_admin_reads_one_user_and_an_unknown_id_is_404(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob")
        found = await admin.get(f"/users/{bob}")
        missing = await admin.patch("/users/00000000-0000-4000-8000-000000000000", json={"disabled": True})
    assert found.json()["username"] == "bob"
    assert missing.status_code == 404


async def test_a_username_taken_in_another_case_is_refused_with_409(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await create_user(admin, "bob")
        again = await admin.post("/users", json={"username": "BOB", "role": "viewer", "password": TEMPORARY})
        admin_again = await admin.post("/users", json={"username": "Admin", "role": "viewer", "password": TEMPORARY})
    assert again.status_code == admin_again.status_code == 409
    assert "taken" in again.json()["detail"]


@pytest.mark.parametrize("username", ["", "has space", "x" * 65, "ünï", "semi;colon", "slash/name"])
async def test_a_malformed_username_is_refused_naming_the_field(gateway: Gateway, username: str) -> None:
    async with logged_in_admin(gateway) as admin:
        refused = await admin.post("/users", json={"username": username, "role": "viewer", "password": TEMPORARY})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["username"]


@pytest.mark.parametrize("password", ["short-pass", "password1234", "carol-the-operator"])
async def test_a_weak_initial_password_is_refused_naming_the_field(gateway: Gateway, password: str) -> None:
    async with logged_in_admin(gateway) as admin:
        refused = await admin.post(
            "/users", json={"username": "carol-the-operator", "role": "viewer", "password": password}
        )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["password"]


async def test_an_unknown_role_is_refused_naming_the_field(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        refused = await admin.post("/users", json={"username": "bob", "role": "root", "password": TEMPORARY})
        bob = await create_user(admin, "bob")
        patched = await admin.patch(f"/users/{bob}", json={"role": "superuser"})
        empty = await admin.patch(f"/users/{bob}", json={})
    assert [e["field"] for e in refused.json()["detail"]] == ["role"]
    assert [e["field"] for e in patched.json()["detail"]] == ["role"]
    assert empty.status_code == 422


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_viewers_and_operators_cannot_call_the_admin_routes(gateway: Gateway, role: str) -> None:
    async with logged_in_admin(gateway) as admin:
        target = await create_user(admin, "target", "viewer")
        await create_user(admin, "caller", role)
    calls = [
        ("GET", "/users", None),
        ("POST", "/users", {"username": "sneaky", "role": "admin", "password": TEMPORARY}),
        ("GET", f"/users/{target}", None),
        ("PATCH", f"/users/{target}", {"role": "admin"}),
        ("POST", f"/users/{target}/password", {"password": "chosen-by-the-caller-9"}),
        ("POST", f"/users/{target}/mfa/reset", None),
    ]
    async with first_login(gateway, "caller") as caller:
        statuses = [(await caller.request(method, path, json=body)).status_code for method, path, body in calls]
    assert statuses == [403] * len(calls)
    async with gateway.app.state.sessions() as db:
        users = {u.username: u.role for u in (await db.scalars(select(User))).all()}
    assert users == {"admin": "admin", "target": "viewer", "caller": role}


async def test_demoting_the_last_admin_is_refused(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        me = (await admin.get("/users/me")).json()
        refused = await admin.patch(f"/users/{me['id']}", json={"role": "operator"})
        assert (await admin.get("/users")).status_code == 200
    assert refused.status_code == 409
    assert "last enabled admin" in refused.json()["detail"]


async def test_disabling_the_last_admin_is_refused(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        me = (await admin.get("/users/me")).json()
        refused = await admin.patch(f"/users/{me['id']}", json={"disabled": True})
        assert (await admin.get("/users/me")).json()["disabled"] is False
    assert refused.status_code == 409
    assert "last enabled admin" in refused.json()["detail"]


async def test_a_disabled_admin_does_not_count_as_another_admin(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        me = (await admin.get("/users/me")).json()
        other = await create_user(admin, "backup-admin", "admin")
        assert (await admin.patch(f"/users/{other}", json={"disabled": True})).status_code == 200
        refused = await admin.patch(f"/users/{me['id']}", json={"role": "viewer"})
    assert refused.status_code == 409


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        admin_id = (await admin.get("/users/me")).json()["id"]
        bob_id = await create_user(admin, "bob", "admin")
        async with first_login(gateway, "bob") as bob:
            outcomes = await asyncio.gather(
                admin.patch(f"/users/{bob_id}", json={"role": "viewer"}),
                bob.patch(f"/users/{admin_id}", json={"role": "viewer"}),
            )
    assert sorted(r.status_code for r in outcomes)[0] == 200
    # The other is refused: last admin (409), already demoted (403) or already logged out (401).
    assert sorted(r.status_code for r in outcomes)[1] in (401, 403, 409)
    async with gateway.app.state.sessions() as db:
        admins = await db.scalar(select(func.count()).where(User.role == "admin", User.disabled.is_(False)))
    assert admins == 1


async def test_a_role_change_ends_the_users_sessions_and_applies_at_next_login(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob", "admin")
        async with first_login(gateway, "bob") as bob_client:
            assert (await bob_client.get("/users")).status_code == 200
            demoted = await admin.patch(f"/users/{bob}", json={"role": "viewer"})
            assert demoted.json()["role"] == "viewer"
            assert (await bob_client.get("/users")).status_code == 401
    async with gateway.client() as bob_client:
        assert (await login(bob_client, "bob", OWN)).status_code == 200
        assert (await bob_client.get("/users")).status_code == 403
        assert (await bob_client.get("/users/me")).json()["role"] == "viewer"


async def test_disabling_a_user_logs_them_out_at_once(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob")
        async with first_login(gateway, "bob") as bob_client:
            assert (await admin.patch(f"/users/{bob}", json={"disabled": True})).json()["disabled"] is True
            assert (await bob_client.get("/users/me")).status_code == 401
            assert (await login(bob_client, "bob", OWN)).status_code == 401


async def test_an_enabled_again_user_can_log_in(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob")
        await admin.patch(f"/users/{bob}", json={"disabled": True})
        enabled = await admin.patch(f"/users/{bob}", json={"disabled": False})
    assert enabled.json()["disabled"] is False
    async with gateway.client() as client:
        assert (await login(client, "bob", TEMPORARY)).status_code == 200


async def test_a_password_reset_ends_the_users_sessions_and_requires_a_change_at_next_login(
    gateway: Gateway,
) -> None:
    reset_to = "reset-by-the-admin-passphrase-3"
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob")
        async with first_login(gateway, "bob") as bob_client:
            reset = await admin.post(f"/users/{bob}/password", json={"password": reset_to})
            assert reset.status_code == 204
            assert (await bob_client.get("/users/me")).status_code == 401
    async with gateway.client() as client:
        assert (await login(client, "bob", OWN)).status_code == 401
        again = await login(client, "bob", reset_to)
    assert again.json()["must_change_password"] is True


async def test_a_weak_reset_password_is_refused_naming_the_field(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob")
        refused = await admin.post(f"/users/{bob}/password", json={"password": "short"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["password"]


async def test_an_admin_resets_their_own_password_only_with_the_current_one(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        me = (await admin.get("/users/me")).json()
        refused = await admin.post(f"/users/{me['id']}/password", json={"password": "no-current-password-needed-4"})
    assert refused.status_code == 409
    assert "/users/me/password" in refused.json()["detail"]


async def test_an_mfa_reset_turns_mfa_off_deletes_recovery_codes_and_ends_sessions(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob")
        async with first_login(gateway, "bob") as bob_client:
            started = await bob_client.post("/users/me/mfa/enrolment", json={"current_password": OWN})
            totp = pyotp.parse_uri(started.json()["otpauth_uri"])
            confirmed = await bob_client.post("/users/me/mfa/confirm", json={"code": totp.now()})
            assert confirmed.status_code == 200
            assert (await admin.get(f"/users/{bob}")).json()["mfa_enabled"] is True

            reset = await admin.post(f"/users/{bob}/mfa/reset")
            assert reset.status_code == 204
            assert (await bob_client.get("/users/me")).status_code == 401
        assert (await admin.get(f"/users/{bob}")).json()["mfa_enabled"] is False
        again = await admin.post(f"/users/{bob}/mfa/reset")
    assert again.status_code == 409
    async with gateway.client() as client:
        assert (await login(client, "bob", OWN)).json()["logged_in"] is True
    async with gateway.app.state.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(RecoveryCode)) == 0
        assert await db.scalar(select(User.totp_secret).where(User.username == "bob")) is None


async def test_user_changes_are_audited_without_any_password(gateway: Gateway) -> None:
    canary_create = "canary-initial-password-71"
    canary_reset = "canary-reset-password-72"
    canary_weak = "canary-w"
    async with logged_in_admin(gateway) as admin:
        me = (await admin.get("/users/me")).json()
        created = await admin.post("/users", json={"username": "bob", "role": "viewer", "password": canary_create})
        bob = created.json()["id"]
        await admin.post("/users", json={"username": "BOB", "role": "viewer", "password": canary_create})
        await admin.post("/users", json={"username": "carol", "role": "viewer", "password": canary_weak})
        await admin.patch(f"/users/{bob}", json={"role": "operator"})
        await admin.patch(f"/users/{bob}", json={"disabled": True})
        await admin.patch(f"/users/{bob}", json={"disabled": False})
        await admin.post(f"/users/{bob}/password", json={"password": canary_reset})
        await admin.patch(f"/users/{me['id']}", json={"role": "viewer"})

    async with gateway.app.state.sessions() as db:
        entries = (await db.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    changes = [(e.action, e.target, e.outcome) for e in entries if e.actor == "admin" and e.action.startswith("user.")]
    assert changes == [
        ("user.password_change", "admin", "success"),
        ("user.create", "bob", "success"),
        ("user.create", "BOB", "failure"),
        ("user.role_change", "bob", "success"),
        ("user.disable", "bob", "success"),
        ("user.enable", "bob", "success"),
        ("user.password_reset", "bob", "success"),
        ("user.role_change", "admin", "failure"),
    ]
    role_change = next(e for e in entries if e.action == "user.role_change" and e.outcome == "success")
    assert role_change.details == {"from": "viewer", "to": "operator"}
    every_row = " ".join(f"{e.actor} {e.action} {e.target} {e.details} {e.user_agent}" for e in entries)
    leaked = [
        s for s in (canary_create, canary_reset, canary_weak, ADMIN_PASSWORD, gateway.admin_password) if s in every_row
    ]
    assert leaked == []
