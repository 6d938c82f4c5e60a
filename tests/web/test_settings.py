"""The settings page in a real Chromium against the real stack with a notifier: an admin types a
mail server and presses Test before saving; the test mail goes through the values in the form to
a real SMTP server, the answer shows beside the button, and nothing is saved."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from harness.eventually import eventually
from harness.smtp_server import StartSmtp
from web.conftest import ADMIN_PASSWORD, Stack, api_admin, log_in


def says_ready(log: Path) -> bool:
    return log.exists() and b" ready " in log.read_bytes()


async def test_an_admin_tests_typed_smtp_settings_before_saving_them(
    page: Page, stack: Stack, smtp_server_factory: StartSmtp
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
    except BaseException:
        print(stack.services.logs())
        raise
    finally:
        await admin.aclose()
