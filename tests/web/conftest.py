"""The web UI in a real headless Chromium (Debian's, driven by Playwright; no browser is
downloaded) against the real stack: the gateway process serving the built UI and the API under
/api, the scheduler, and an executor on the local Docker Engine."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import pytest_asyncio
from e2e.conftest import (
    HOST_ID,
    Services,
    services,  # noqa: F401 - the executor and scheduler processes
)
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from harness.eventually import eventually
from harness.gateway_process import GatewayProcess, run_gateway

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "services" / "web" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
# Where a reviewer finds a picture of every main page after a run.
SCREENSHOTS = ROOT / "test-results" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ADMIN_PASSWORD = "browser-admin-passphrase-1"
expect.set_options(timeout=15_000)

__all__ = ["HOST_ID", "Services"]


@dataclass
class Stack:
    gateway: GatewayProcess
    services: Services

    @property
    def url(self) -> str:
        assert self.gateway.web_url
        return self.gateway.web_url


@pytest.fixture
def stack(database_url: str, nats_url: str, tmp_path: Path, services: Services) -> Iterator[Stack]:  # noqa: F811
    if not (BUILD / "index.html").is_file():
        pytest.fail(f"the web UI is not built ({BUILD} has no index.html): run `make web` (make test does)")
    with run_gateway(database_url, nats_url, tmp_path, web_dir=BUILD) as gateway:
        services.executor()
        services.start("scheduler", "dockback_scheduler")
        yield Stack(gateway, services)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():  # noqa: ASYNC240 - one stat, before anything runs
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def context(browser: Browser, stack: Stack) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 900})
    yield context
    await context.close()


@pytest_asyncio.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    yield page
    assert not problems, f"the page threw: {problems}"


async def screenshot(page: Page, name: str) -> None:
    """A full-page picture under test-results/screenshots/ for a reviewer."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def log_in(page: Page, username: str, password: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


TOTP_STEP_SECONDS = 30


def unused_totp_code(secret: str, last_used_step: int | None = None) -> tuple[str, int]:
    """A code the gateway takes now, and its step: the gateway accepts the steps next to its
    clock's (±1) but each step once, so a second code within the step of the last one is the
    next step's, never this step's again (it would be "already used")."""
    step = int(time.time()) // TOTP_STEP_SECONDS
    if last_used_step is not None:
        step = max(step, last_used_step + 1)
    return pyotp.TOTP(secret).at(step * TOTP_STEP_SECONDS), step


async def change_forced_password(page: Page, current: str, new: str) -> None:
    await expect(page).to_have_url(re.compile(r"/change-password$"))
    await page.get_by_label("Current password").fill(current)
    await page.get_by_label("New password", exact=True).fill(new)
    await page.get_by_label("Repeat new password").fill(new)
    await page.get_by_role("button", name="Change password").click()


async def api_admin(stack: Stack) -> httpx.AsyncClient:
    """An API client logged in as the first admin (past the forced change), over the web port."""
    # Password hashing (Argon2id, 64 MiB) takes seconds on a loaded machine: a generous timeout.
    client = httpx.AsyncClient(base_url=f"{stack.url}/api", headers={"Origin": stack.url}, timeout=60)
    first = await client.post("/auth/login", json={"username": "admin", "password": stack.gateway.admin_password})
    assert first.status_code == 200, first.text
    client.headers["X-CSRF-Token"] = first.json()["csrf_token"]
    changed = await client.post(
        "/users/me/password", json={"current_password": stack.gateway.admin_password, "new_password": ADMIN_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    again = await client.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    client.headers["X-CSRF-Token"] = again.json()["csrf_token"]
    return client


async def host_online(client: httpx.AsyncClient) -> bool:
    """Whether the test host's executor has sent a heartbeat recently (its plans can run)."""
    hosts = (await client.get("/resources/hosts")).json()
    items = hosts["items"] if isinstance(hosts, dict) else hosts
    return any(h["host_id"] == HOST_ID and h["online"] for h in items)


async def create_volume_plan(client: httpx.AsyncClient, name: str, volumes: list[str], cron: str) -> dict[str, Any]:
    """Once the test host is online, a plan (UTC) backing up these volumes on it; its body."""
    await eventually(lambda: host_online(client), timeout=60)
    created = await client.post(
        "/plans",
        json={
            "name": name,
            "host_id": HOST_ID,
            "targets": [{"kind": "volume", "names": volumes}],
            "cron": cron,
            "timezone": "UTC",
        },
    )
    assert created.status_code == 201, created.text
    plan: dict[str, Any] = created.json()
    return plan
