"""The access policy, walked over every route of the OpenAPI document for every kind of caller."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from dockback_gateway.auth.passwords import hash_password
from dockback_gateway.auth.policy import AUTHENTICATED, PUBLIC, policy_of
from dockback_gateway.users.models import Role, User
from gateway.conftest import Gateway, login

CALLERS = ["anonymous", "disabled", *[r.value for r in Role]]
PASSWORD = "policy-walk-password-9"


def expected(rule: object, caller: str) -> str:
    if rule == PUBLIC:
        return "allowed"
    if caller in ("anonymous", "disabled"):
        return "unauthenticated"
    if rule == AUTHENTICATED or (isinstance(rule, frozenset) and caller in rule):
        return "allowed"
    return "forbidden"


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_route_answers_each_caller_as_the_policy_table_says(gateway: Gateway, caller: str) -> None:
    async with gateway.app.state.sessions.begin() as db:
        role = caller if caller in {r.value for r in Role} else Role.VIEWER
        db.add(User(username="walker", password_hash=hash_password(PASSWORD), role=role))
    async with gateway.client() as client:
        if caller != "anonymous":
            assert (await login(client, "walker", PASSWORD)).status_code == 200
        if caller == "disabled":
            async with gateway.app.state.sessions.begin() as db:
                await db.execute(update(User).where(User.username == "walker").values(disabled=True))
        schema = gateway.app.openapi()
        for path, item in schema["paths"].items():
            for method in item:
                rule = policy_of(gateway.app)[(method.upper(), path)]
                if method.upper() == "POST" and path in ("/auth/logout", "/auth/refresh"):
                    continue  # they end or rotate the walker's own session; covered in test_auth
                response = await client.request(method.upper(), path, json={})
                outcome = {401: "unauthenticated", 403: "forbidden"}.get(response.status_code, "allowed")
                assert outcome == expected(rule, caller), f"{method.upper()} {path} as {caller}: {response.text}"


async def test_every_state_changing_route_refuses_a_cookie_request_without_the_csrf_token(gateway: Gateway) -> None:
    async with gateway.app.state.sessions.begin() as db:
        db.add(User(username="walker", password_hash=hash_password(PASSWORD), role=Role.ADMIN))
    async with gateway.client() as client:
        assert (await login(client, "walker", PASSWORD)).status_code == 200
        token = client.headers.pop("X-CSRF-Token")
        schema = gateway.app.openapi()
        for path, item in schema["paths"].items():
            for method in item:
                if method.upper() in ("GET", "HEAD", "OPTIONS"):
                    continue
                concrete = path.replace("{", "").replace("}", "")
                refused = await client.request(method.upper(), concrete, json={})
                assert refused.status_code == 403, f"{method.upper()} {path} accepted a request without the token"
                assert refused.json()["error"] == "csrf"
        assert (await client.get("/users/me", headers={"X-CSRF-Token": token})).status_code == 200
