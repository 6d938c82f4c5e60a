"""Admins deleting accounts, the last login, and the MFA policy, on the real gateway."""

from __future__ import annotations

import uuid

import pyotp
import pytest
from sqlalchemy import select

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.models import Session
from dockback_gateway.auth.session_ends import SESSION_ENDS
from dockback_gateway.users.models import Role, User
from gateway.accounts import OTHER_PASSWORD, OWN, create_user, first_login, logged_in_as
from gateway.conftest import Gateway, logged_in_admin, login

# -- deleting a user ------------------------------------------------------------------------


async def test_deleting_a_user_ends_their_session_and_stream_and_the_audit_log_keeps_their_name(
    gateway: Gateway,
) -> None:
    async with logged_in_admin(gateway) as admin:
        bob = await create_user(admin, "bob", "operator")
        async with first_login(gateway, "bob") as bob_client:
            assert (await bob_client.get("/jobs")).status_code == 200
            async with gateway.app.state.sessions() as db:
                session_id = await db.scalar(
                    select(Session.id).where(Session.user_id == User.id, User.username == "bob")
                )
            assert session_id is not None
            with SESSION_ENDS.watch(session_id, uuid.UUID(bob)) as stream_ended:
                deleted = await admin.delete(f"/users/{bob}")
                assert deleted.status_code == 204, deleted.text
                assert stream_ended.is_set()
            assert (await bob_client.get("/jobs")).status_code == 401
        listed = await admin.get("/users")
        assert "bob" not in [u["username"] for u in listed.json()]
        assert (await admin.get(f"/users/{bob}")).status_code == 404
    async with gateway.client() as client:
        assert (await login(client, "bob", OWN)).status_code == 401
    async with gateway.app.state.sessions() as db:
        actions = [
            (e.actor, e.action, e.outcome)
            for e in await db.scalars(select(AuditEntry).where(AuditEntry.actor == "bob").order_by(AuditEntry.id))
        ]
        deletion = await db.scalar(select(AuditEntry).where(AuditEntry.action == "user.delete"))
    assert ("bob", "login", "success") in actions
    assert ("bob", "user.password_change", "success") in actions
    assert deletion is not None
    assert (deletion.actor, deletion.target, deletion.outcome) == ("admin", "bob", "success")


async def test_an_admin_cannot_delete_their_own_account(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        me = (await admin.get("/users/me")).json()["id"]
        refused = await admin.delete(f"/users/{me}")
        assert (await admin.get("/users/me")).status_code == 200
    assert refused.status_code == 409
    assert "your own account" in refused.json()["detail"]
    async with gateway.app.state.sessions() as db:
        row = await db.scalar(select(AuditEntry).where(AuditEntry.action == "user.delete"))
    assert row is not None
    assert row.outcome == "failure"


async def test_the_last_enabled_admin_cannot_be_deleted_by_anyone(gateway: Gateway) -> None:
    """Only reachable when the caller is no longer an enabled admin of their own (a demotion
    racing the deletion); the service refuses it by itself."""
    from dockback_gateway.audit.service import Origin
    from dockback_gateway.auth.dependencies import Principal
    from dockback_gateway.errors import Conflict
    from dockback_gateway.users.service import UserAdministration

    async with logged_in_admin(gateway):
        pass
    async with gateway.app.state.sessions.begin() as db:
        admin = await db.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        stranger = User(username="stranger", password_hash="x", role=Role.VIEWER)
        db.add(stranger)
        await db.flush()
        administration = UserAdministration(
            db, Principal(user=stranger, session=Session()), Origin(ip=None, user_agent=None)
        )
        with pytest.raises(Conflict, match="last enabled admin"):
            await administration.delete(admin.id)


# -- the last login -------------------------------------------------------------------------


async def test_the_users_list_shows_the_last_successful_login_and_null_for_never(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await create_user(admin, "never", "viewer")
        await create_user(admin, "carol", "viewer")
        async with gateway.client() as wrong:
            assert (await login(wrong, "carol", "not-her-password-at-all")).status_code == 401
        before = {u["username"]: u["last_login_at"] for u in (await admin.get("/users")).json()}
        async with first_login(gateway, "carol"):
            pass
        after = {u["username"]: u["last_login_at"] for u in (await admin.get("/users")).json()}
    assert before["never"] is None
    assert after["never"] is None
    assert before["carol"] is None
    assert after["carol"] is not None
    assert after["admin"] is not None


async def test_with_a_second_factor_the_last_login_is_the_code_step_not_the_password(gateway: Gateway) -> None:
    async with logged_in_as(gateway, Role.OPERATOR, "dora") as dora:
        started = await dora.post("/users/me/mfa/enrolment", json={"current_password": OTHER_PASSWORD})
        totp = pyotp.parse_uri(started.json()["otpauth_uri"])
        assert isinstance(totp, pyotp.TOTP)
        assert (await dora.post("/users/me/mfa/confirm", json={"code": totp.now()})).status_code == 200
    async with gateway.app.state.sessions.begin() as db:
        user = await db.scalar(select(User).where(User.username == "dora"))
        assert user is not None
        user.last_login_at = None
    async with gateway.client() as client:
        assert (await login(client, "dora", OTHER_PASSWORD)).json()["mfa_required"] is True
    async with gateway.app.state.sessions() as db:
        assert await db.scalar(select(User.last_login_at).where(User.username == "dora")) is None


# -- the MFA policy -------------------------------------------------------------------------


async def test_mfa_required_for_operators_sends_an_operator_without_one_to_enrol_and_nowhere_else(
    gateway: Gateway,
) -> None:
    async with logged_in_admin(gateway) as admin:
        assert (await admin.get("/users/mfa-policy")).json() == {"required_roles": []}
        set_policy = await admin.put("/users/mfa-policy", json={"required_roles": ["operator"]})
        assert set_policy.status_code == 200
        assert set_policy.json() == {"required_roles": ["operator"]}
        assert (await admin.get("/jobs")).status_code == 200  # admins are not in the policy
    async with logged_in_as(gateway, Role.VIEWER, "vic") as viewer:
        assert (await viewer.get("/jobs")).status_code == 200
    async with logged_in_as(gateway, Role.OPERATOR, "olga") as olga:
        permissions = (await olga.get("/auth/permissions")).json()
        assert permissions["must_enrol_mfa"] is True
        assert "GET /jobs" not in permissions["allowed"]
        assert "POST /users/me/mfa/enrolment" in permissions["allowed"]
        refused = await olga.get("/jobs")
        assert refused.status_code == 403
        assert "/users/me/mfa/enrolment" in refused.json()["detail"]
        started = await olga.post("/users/me/mfa/enrolment", json={"current_password": OTHER_PASSWORD})
        assert started.status_code == 200
        totp = pyotp.parse_uri(started.json()["otpauth_uri"])
        assert isinstance(totp, pyotp.TOTP)
        assert (await olga.post("/users/me/mfa/confirm", json={"code": totp.now()})).status_code == 200
        assert (await olga.get("/jobs")).status_code == 200
        assert (await olga.get("/auth/permissions")).json()["must_enrol_mfa"] is False


async def test_the_login_answer_says_the_user_must_enrol(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await create_user(admin, "erin", "viewer")
        assert (await admin.put("/users/mfa-policy", json={"required_roles": list(Role)})).status_code == 200
        async with first_login(gateway, "erin") as erin:
            assert (await erin.get("/auth/permissions")).json()["must_enrol_mfa"] is True
        async with gateway.client() as client:
            answer = await login(client, "erin", OWN)
        assert answer.json()["must_enrol_mfa"] is True
        # the admin, without a second factor too, is held the same way
        assert (await admin.get("/users")).status_code == 403
        assert (await admin.get("/users/me/mfa")).status_code == 200


async def test_changing_the_mfa_policy_is_audited_and_unknown_roles_are_refused(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        unknown = await admin.put("/users/mfa-policy", json={"required_roles": ["root"]})
        await admin.put("/users/mfa-policy", json={"required_roles": ["viewer", "operator"]})
        await admin.put("/users/mfa-policy", json={"required_roles": []})
    assert unknown.status_code == 422
    async with gateway.app.state.sessions() as db:
        rows = list(await db.scalars(select(AuditEntry).where(AuditEntry.action == "mfa_policy.change")))
    assert [(r.actor, r.details) for r in rows] == [
        ("admin", {"from": "nobody", "to": "operator, viewer"}),
        ("admin", {"from": "operator, viewer", "to": "nobody"}),
    ]


async def test_a_user_the_policy_covers_cannot_turn_their_second_factor_off(gateway: Gateway) -> None:
    async with logged_in_as(gateway, Role.OPERATOR, "pat") as pat:
        started = await pat.post("/users/me/mfa/enrolment", json={"current_password": OTHER_PASSWORD})
        totp = pyotp.parse_uri(started.json()["otpauth_uri"])
        assert isinstance(totp, pyotp.TOTP)
        assert (await pat.post("/users/me/mfa/confirm", json={"code": totp.now()})).status_code == 200
        async with logged_in_admin(gateway) as admin:
            assert (await admin.put("/users/mfa-policy", json={"required_roles": ["operator"]})).status_code == 200
        refused = await pat.post("/users/me/mfa/disable", json={"current_password": OTHER_PASSWORD})
        assert refused.status_code == 409
        assert "MFA policy requires a second factor for the operator role" in refused.json()["detail"]
        assert (await pat.get("/users/me")).json()["mfa_enabled"] is True
