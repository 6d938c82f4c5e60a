"""Managing users in a real Chromium: an admin sees when each user last logged in ("never" for
one who has not), deletes a user, requires a second factor of operators (and is warned who has
none yet), and an operator without one is then sent to set it up and kept there."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from web.conftest import ADMIN_PASSWORD, Stack, api_admin, change_forced_password, log_in

TEMPORARY = "temporary-browser-pass-7"
OLGA_OWN = "olga-own-browser-pass-8"


def user_row(page: Page, username: str) -> Locator:
    return page.locator("tr").filter(has=page.locator("td strong", has_text=re.compile(f"^{username}$")))


async def test_an_admin_deletes_a_user_sees_last_logins_and_requires_mfa_of_operators(page: Page, stack: Stack) -> None:
    admin = await api_admin(stack)
    try:
        for username, role in (("dropme", "viewer"), ("olga", "operator")):
            created = await admin.post("/users", json={"username": username, "role": role, "password": TEMPORARY})
            assert created.status_code == 201, created.text
    finally:
        await admin.aclose()

    await log_in(page, "admin", ADMIN_PASSWORD)
    await page.goto("/users")
    admin_row = user_row(page, "admin")
    olga_row = user_row(page, "olga")
    await expect(page.get_by_role("columnheader", name="Last login")).to_be_visible()
    await expect(admin_row).to_contain_text(re.compile(r"\((just now|\d+ s ago|\d+ min ago)\)"))
    await expect(olga_row.get_by_role("cell", name="never")).to_be_visible()
    # Nobody deletes their own account: no Delete on the admin's row.
    await expect(admin_row.get_by_role("button", name="Delete")).to_have_count(0)

    dropme_row = user_row(page, "dropme")
    await dropme_row.get_by_role("button", name="Delete").click()
    await page.get_by_role("group", name="Delete dropme?").get_by_role("button", name="Yes, delete").click()
    await expect(dropme_row).to_have_count(0)
    await expect(page.get_by_role("status").filter(has_text="dropme was deleted")).to_be_visible()

    await page.get_by_role("checkbox", name="operators").check()
    await page.get_by_role("button", name="Save MFA policy").click()
    await expect(page.get_by_text("MFA required for: operators")).to_be_visible()
    await expect(page.get_by_test_id("users-without-mfa")).to_contain_text("olga")

    await page.get_by_role("button", name="Log out").click()
    await log_in(page, "olga", TEMPORARY)
    await change_forced_password(page, TEMPORARY, OLGA_OWN)
    await expect(page).to_have_url(re.compile(r"/enrol-mfa$"))
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    await page.goto("/jobs")
    await expect(page).to_have_url(re.compile(r"/enrol-mfa$"))
    await expect(page.get_by_role("button", name="Set up two-factor authentication")).to_be_visible()
