"""A caller logged in as a named user with a role, and the audit rows that callers' actions leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.passwords import hash_password
from dockback_gateway.users.models import Role, User
from gateway.conftest import Gateway, login

USER_PASSWORD = "catalog-test-passphrase-7"


@asynccontextmanager
async def logged_in_as(gateway: Gateway, username: str, role: Role) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway.app.state.sessions.begin() as db:
        db.add(User(username=username, password_hash=hash_password(USER_PASSWORD), role=role))
    async with gateway.client() as client:
        assert (await login(client, username, USER_PASSWORD)).status_code == 200
        yield client


async def audit_rows(gateway: Gateway, action: str) -> list[AuditEntry]:
    async with gateway.app.state.sessions() as db:
        return list((await db.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())
