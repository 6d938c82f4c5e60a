"""A new installation's dashboard in a real Chromium against the real stack (each test has its
own database, so the installation is new whatever ran before): the getting-started checklist
leads the first screen at laptop and phone sizes, nothing ticked but the executor's host, the
volumes no plan backs up one line instead of an item each; once a plan exists its step is
ticked and the next step links to Run now. Pictures: test-results/screenshots/
{desktop,phone}-getting-started{-new,}.png."""

from __future__ import annotations

from typing import Any

import httpx
from executor.volumes import create_volume
from playwright.async_api import Page, expect

from harness.eventually import eventually
from web.conftest import ADMIN_PASSWORD, HOST_ID, Stack, api_admin, create_volume_plan, host_online, log_in, screenshot
from web.test_phone import DESKTOP, PHONE

STEPS = [
    "Connect a Docker host",
    "Add an off-site storage target",
    "Create a backup plan",
    "Run a first backup",
    "Verify a backup",
]


async def _volume_listed(admin: httpx.AsyncClient, name: str) -> bool:
    """The host is online and its inventory lists the volume."""
    if not await host_online(admin):
        return False
    volumes: list[dict[str, Any]] = (await admin.get("/resources/volumes", params={"host_id": HOST_ID})).json()
    return any(v["name"] == name for v in volumes)


async def _ticked(page: Page) -> list[str]:
    """The checklist's steps in order, each with whether it is ticked."""
    checklist = page.get_by_role("list", name="Getting started")
    await expect(checklist.get_by_role("checkbox")).to_have_count(len(STEPS))
    return [
        f"{'[x]' if await box.is_checked() else '[ ]'} {await checklist.locator('label').nth(i).inner_text()}"
        for i, box in enumerate(await checklist.get_by_role("checkbox").all())
    ]


async def test_a_new_installation_is_led_through_its_first_steps_on_the_dashboard(
    page: Page, stack: Stack, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    admin = await api_admin(stack)
    try:
        await eventually(lambda: _volume_listed(admin, unique_name), timeout=60)
        await page.set_viewport_size(DESKTOP)
        await log_in(page, "admin", ADMIN_PASSWORD)
        await page.goto("/")

        heading = page.get_by_role("heading", name="Getting started")
        await expect(heading).to_be_in_viewport(ratio=1)
        assert await _ticked(page) == [f"{'[x]' if i == 0 else '[ ]'} {step}" for i, step in enumerate(STEPS)]
        checklist = page.get_by_role("list", name="Getting started")
        storage = checklist.get_by_role("listitem").filter(has_text="Add an off-site storage target")
        await expect(storage.get_by_role("link", name="Add an S3 target in Settings")).to_have_attribute(
            "href", "/settings"
        )
        # The volumes no plan backs up are one line that leads to a first plan, not an item each.
        summary = page.get_by_text("not backed up yet")
        await expect(summary).to_contain_text("volume")
        await expect(summary.get_by_role("link", name="create your first plan")).to_have_attribute("href", "/plans/new")
        attention = page.locator(".attention")
        await expect(attention.get_by_text(unique_name)).to_have_count(0)
        await screenshot(page, "desktop-getting-started-new")

        await page.set_viewport_size(PHONE)
        await expect(heading).to_be_in_viewport(ratio=1)
        await expect(checklist.get_by_role("listitem").last).to_be_in_viewport(ratio=1)  # the whole list, first screen
        await screenshot(page, "phone-getting-started-new")

        await create_volume_plan(admin, f"first {unique_name}", [unique_name], "0 3 * * *")
        await page.reload()
        await expect(checklist.get_by_role("checkbox", name="Create a backup plan")).to_be_checked()
        assert await _ticked(page) == [
            "[x] Connect a Docker host",
            "[ ] Add an off-site storage target",
            "[x] Create a backup plan",
            "[ ] Run a first backup",
            "[ ] Verify a backup",
        ]
        run = checklist.get_by_role("listitem").filter(has_text="Run a first backup")
        await expect(run.get_by_role("link", name="Run it now on Plans")).to_have_attribute("href", "/plans")
        await expect(heading).to_be_in_viewport(ratio=1)
        await screenshot(page, "phone-getting-started")
        await page.set_viewport_size(DESKTOP)
        await expect(heading).to_be_in_viewport(ratio=1)
        await screenshot(page, "desktop-getting-started")
    finally:
        await admin.aclose()
