"""Users for a test: made by an admin through the API with a temporary password and logged in
for the first time (replacing it), or stored with a role and logged in directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from dockback_gateway.auth.passwords import hash_password
from dockback_gateway.users.models import Role, User
from gateway.conftest import Gateway, login

TEMPORARY = "temporary-passphrase-given-1"
OWN = "own-passphrase-chosen-later-2"


async def create_user(admin: httpx.AsyncClient, username: str, role: str = "operator") -> str:
    created = await admin.post("/users", json={"username": username, "role": role, "password": TEMPORARY})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@asynccontextmanager
async def first_login(gateway: Gateway, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """Log in with the temporary password and replace it, as a new user must."""
    async with gateway.client() as client:
        assert (await login(client, username, TEMPORARY)).status_code == 200
        changed = await client.post("/users/me/password", json={"current_password": TEMPORARY, "new_password": OWN})
        assert changed.status_code == 204
        yield client


OTHER_PASSWORD = "another-users-passphrase-42"


@asynccontextmanager
async def logged_in_as(gateway: Gateway, role: Role, username: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    name = username or role.value
    async with gateway.app.state.sessions.begin() as db:
        db.add(User(username=name, password_hash=hash_password(OTHER_PASSWORD), role=role))
    async with gateway.client() as client:
        assert (await login(client, name, OTHER_PASSWORD)).status_code == 200
        yield client
