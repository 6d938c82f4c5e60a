"""The access policy, walked over every route of the OpenAPI document for every kind of caller."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from dockback_gateway.auth.passwords import hash_password
from dockback_gateway.auth.policy import AUTHENTICATED, POLICY, PUBLIC
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
                rule = POLICY[(method.upper(), path)]
                if method.upper() == "POST" and path in ("/auth/logout", "/auth/refresh"):
                    continue  # they end or rotate the walker's own session; covered in test_auth
                response = await client.request(method.upper(), path, json={})
                outcome = {401: "unauthenticated", 403: "forbidden"}.get(response.status_code, "allowed")
                assert outcome == expected(rule, caller), f"{method.upper()} {path} as {caller}: {response.text}"
