"""The settings page in a real Chromium against the real stack with a notifier: an admin types a
mail server (then a new webhook) and presses Test before saving; the test alert goes through the
values in the form to a real SMTP server (a real HTTP receiver), the answer shows beside the
button, and nothing is saved."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiohttp import web
from playwright.async_api import Page, expect

from harness.eventually import eventually
from harness.smtp_server import StartSmtp
from web.conftest import ADMIN_PASSWORD, Stack, api_admin, log_in


def says_ready(log: Path) -> bool:
    return log.exists() and b" ready " in log.read_bytes()


class Receiver:
    """A local HTTP server that records the bodies POSTed to its one URL."""

    url = ""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.arrived = asyncio.Event()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def on_post(request: web.Request) -> web.Response:
        state.bodies.append(await request.read())
        state.arrived.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/dockback", on_post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hooks/dockback"  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_an_admin_tests_typed_smtp_settings_and_a_new_webhook_before_saving_them(
    page: Page, stack: Stack, smtp_server_factory: StartSmtp, receiver: Receiver
) -> None:
    mail = smtp_server_factory()
    stack.services.start("notifier", "dockback_notifier")
    admin = await api_admin(stack)
    try:
        await eventually(lambda: says_ready(stack.services.workdir / "notifier.log"), timeout=30)
        await log_in(page, "admin", ADMIN_PASSWORD)
        await page.goto("/settings")
        smtp = page.get_by_role("form", name="SMTP settings")
        await smtp.get_by_label("Host").fill(mail.host)
        await smtp.get_by_label("Port").fill(str(mail.port))
        await smtp.get_by_label("Security").select_option("none")
        await smtp.get_by_label("From").fill("dockback@example.test")
        await smtp.get_by_label("To").fill("typed@example.test")
        await page.get_by_role("button", name="Send test mail").click()

        await expect(page.get_by_role("status").filter(has_text="Test passed")).to_contain_text(mail.host)
        (sent,) = await mail.wait_for(1, within=10)
        assert sent.message["To"] == "typed@example.test"
        assert (await admin.get("/settings")).json()["smtp"] is None  # tested, not saved

        await page.get_by_role("button", name="Add a webhook").click()
        hook = page.get_by_role("form", name="New webhook")
        await hook.get_by_label("Webhook id").fill("chat")
        await hook.get_by_label("URL").fill(receiver.url)
        await hook.get_by_role("button", name="Test these values").click()
        await expect(page.get_by_role("status").filter(has_text="Test passed")).to_have_count(2)
        async with asyncio.timeout(10):
            await receiver.arrived.wait()
        assert b"test alert from DockBack" in receiver.bodies[0]
        assert (await admin.get("/settings")).json()["webhooks"] == []  # tested, not saved
    except BaseException:
        print(stack.services.logs())
        raise
    finally:
        await admin.aclose()
