"""Attack: an operator (or a user the MFA policy holds at enrolment) deletes an account, or
turns the MFA policy off to dodge it.

Deleting accounts and setting the MFA policy are for admins only: the gateway answers 403 and
nothing changes. A user the policy sends to enrol cannot do anything else first, not even
read the policy; the admin's own attempts while held are refused the same way.
"""

from __future__ import annotations

from gateway.accounts import OTHER_PASSWORD, create_user, logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from sqlalchemy import select

from dockback_gateway.users.models import MfaPolicy, Role, User


async def test_an_operator_cannot_delete_a_user(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        victim = await create_user(admin, "victim", "viewer")
        admin_id = (await admin.get("/users/me")).json()["id"]
        async with logged_in_as(gateway, Role.OPERATOR, "mallory") as mallory:
            refused = [(await mallory.delete(f"/users/{target}")).status_code for target in (victim, admin_id)]
    assert refused == [403, 403]
    async with gateway.app.state.sessions() as db:
        names = set(await db.scalars(select(User.username)))
    assert {"victim", "admin", "mallory"} <= names


async def test_an_operator_cannot_change_the_mfa_policy(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        assert (await admin.put("/users/mfa-policy", json={"required_roles": ["admin"]})).status_code == 200
    async with logged_in_as(gateway, Role.OPERATOR, "mallory") as mallory:
        lifted = await mallory.put("/users/mfa-policy", json={"required_roles": []})
        widened = await mallory.put("/users/mfa-policy", json={"required_roles": ["admin", "operator", "viewer"]})
        read = await mallory.get("/users/mfa-policy")
    assert (lifted.status_code, widened.status_code, read.status_code) == (403, 403, 403)
    async with gateway.app.state.sessions() as db:
        policy = await db.get(MfaPolicy, 1)
    assert policy is not None
    assert policy.required_roles == ["admin"]


async def test_a_user_held_at_enrolment_cannot_lift_the_policy_or_do_anything_else(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        assert (await admin.put("/users/mfa-policy", json={"required_roles": ["operator"]})).status_code == 200
    async with logged_in_as(gateway, Role.OPERATOR, "olga") as olga:
        answers = {
            "jobs": (await olga.get("/jobs")).status_code,
            "plans": (await olga.get("/plans")).status_code,
            "new job": (await olga.post("/jobs", json={})).status_code,
            "policy": (await olga.put("/users/mfa-policy", json={"required_roles": []})).status_code,
        }
        assert (
            await olga.post("/users/me/mfa/enrolment", json={"current_password": OTHER_PASSWORD})
        ).status_code == 200
    assert answers == {"jobs": 403, "plans": 403, "new job": 403, "policy": 403}
