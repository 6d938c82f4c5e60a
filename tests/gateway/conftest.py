"""The gateway app on a real PostgreSQL (migrated) and a real nats-server, called over ASGI."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from fastapi import FastAPI

from dockback_contracts.sealed import derive_private_key
from dockback_gateway.app import create_app
from dockback_gateway.auth import passwords
from dockback_gateway.config import Settings
from dockback_gateway.migrate import upgrade
from dockback_gateway.streams import declare_streams
from dockback_runtime.connection import connect_options
from dockback_runtime.sealing import register_sealing_key

BASE_URL = "http://localhost:8080"
PASSWORD_LINE = re.compile(r"log in as 'admin' with password (\S+)")


@dataclass
class Gateway:
    app: FastAPI
    settings: Settings
    admin_password: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL, headers={"Origin": BASE_URL}
        )


def settings_for(database_url: str, nats_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """The gateway's settings for a test: its database, its nats-server, keys in its tmp dir."""
    return Settings(
        database_url=database_url,
        nats_url=nats_url,
        base_url=BASE_URL,
        secret_key_file=tmp_path / "secret.key",
        encryption_key_file=tmp_path / "encryption.key",
        settings_key_file=tmp_path / "settings.key",
        **overrides,
    )


HOST_ID = "host-a"
HOST_KEY = derive_private_key(b"gateway tests: host-a's credentials seed", "uploader-host-a")
NOTIFIER_KEY = derive_private_key(b"gateway tests: the notifier's credentials seed", "notifier")
"""The sealing keys of a host's uploader and of the notifier, registered before the gateway starts
(as those services do at their start), so the gateway publishes their settings snapshots."""


async def register_recipients(settings: Settings) -> None:
    nc = await nats.connect(**connect_options(settings))
    try:
        js = nc.jetstream()
        await declare_streams(js)
        await register_sealing_key(js, f"uploader-{HOST_ID}", HOST_KEY)
        await register_sealing_key(js, "notifier", NOTIFIER_KEY)
    finally:
        await nc.close()


@pytest.fixture
def gateway_settings(database_url: str, nats_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, nats_url, tmp_path)


PRODUCTION_HASHER = passwords.HASHER
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
"""Argon2id at a cost of milliseconds for the in-process gateways of the tests: each test's first
admin is hashed, logs in and changes its password (a second of production hashing each).
`test_a_password_hashed_with_weaker_parameters_is_rehashed_at_login` holds the production
parameters, and the gateways the tests start as processes (tests/security, tests/web) use them."""


@pytest_asyncio.fixture
async def gateway(
    gateway_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    """A migrated database and a started app; the first admin's password read from its log line."""
    monkeypatch.setattr(passwords, "HASHER", CHEAP_HASHER)
    await asyncio.to_thread(upgrade, gateway_settings.database_url.get_secret_value())
    await register_recipients(gateway_settings)
    app = create_app(gateway_settings)
    with caplog.at_level(logging.WARNING, logger="dockback_gateway"):
        async with app.router.lifespan_context(app):
            found = [m for r in caplog.records if (m := PASSWORD_LINE.search(r.getMessage()))]
            assert len(found) == 1, "the first admin password is printed exactly once"
            yield Gateway(app=app, settings=gateway_settings, admin_password=found[0].group(1))


ADMIN_PASSWORD = "a-much-better-passphrase-42"


@asynccontextmanager
async def logged_in_admin(gateway: Gateway, new_password: str = ADMIN_PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in as the first admin, past the forced password change."""
    async with gateway.client() as client:
        assert (await login(client, "admin", gateway.admin_password)).status_code == 200
        changed = await client.post(
            "/users/me/password", json={"current_password": gateway.admin_password, "new_password": new_password}
        )
        assert changed.status_code == 204
        yield client


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Log in; on success the client keeps the cookies and sends the CSRF header from then on."""
    response = await client.post("/auth/login", json={"username": username, "password": password})
    if response.status_code == 200 and response.json().get("csrf_token"):
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return response
