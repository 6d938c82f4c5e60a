"""The dashboard's "needs attention" in a real Chromium against the real stack: failures that
repeat one cause are one short line (no ids, archive names or hashes), an operator or admin
acknowledges it on a phone and it goes (and shows under "Show acknowledged" with who did it),
and a viewer is offered no Acknowledge button."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from harness.eventually import eventually
from web.conftest import ADMIN_PASSWORD, HOST_ID, Stack, api_admin, change_forced_password, log_in, screenshot

PHONE = {"width": 390, "height": 844}
VIEWER_TEMPORARY = "viewer-temporary-pass-3"
VIEWER_OWN = "viewer-own-browser-pass-4"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def _failed_backups(admin: httpx.AsyncClient, name: str, plans: int) -> list[dict[str, Any]]:
    """`plans` plans over volumes that do not exist, each run once: every job fails at once, for
    the same cause, each reason naming its plan's id and its missing volumes."""

    async def host_online() -> bool:
        hosts = (await admin.get("/resources/hosts")).json()
        items = hosts["items"] if isinstance(hosts, dict) else hosts
        return any(h["host_id"] == HOST_ID and h["online"] for h in items)

    await eventually(host_online, timeout=60)
    job_ids = []
    for number in range(plans):
        created = await admin.post(
            "/plans",
            json={
                "name": f"{name} {number}",
                "host_id": HOST_ID,
                "targets": [{"kind": "volume", "names": [f"{name}-{number}-gone-{i}" for i in range(3)]}],
                "cron": "0 3 * * *",
                "timezone": "UTC",
            },
        )
        assert created.status_code == 201, created.text
        run = await admin.post("/jobs", json={"plan_id": created.json()["id"]})
        assert run.status_code == 202, run.text
        job_ids.append(run.json()["id"])

    async def finished() -> list[dict[str, Any]] | None:
        jobs = [(await admin.get(f"/jobs/{job_id}")).json() for job_id in job_ids]
        return jobs if all(job["finished"] for job in jobs) else None

    jobs = await eventually(finished, timeout=90, interval=0.5)
    assert all(job["status"] == "failed" for job in jobs), jobs
    return jobs


async def test_repeated_failures_are_one_short_line_an_operator_acknowledges_and_a_viewer_cannot(
    page: Page, browser: Browser, stack: Stack, unique_name: str
) -> None:
    admin = await api_admin(stack)
    try:
        jobs = await _failed_backups(admin, unique_name, plans=3)
        created = await admin.post("/users", json={"username": "vera", "role": "viewer", "password": VIEWER_TEMPORARY})
        assert created.status_code == 201, created.text
    except (AssertionError, httpx.HTTPError):
        print(stack.services.logs())
        raise
    finally:
        await admin.aclose()

    # A viewer sees the one line, and no Acknowledge anywhere on the dashboard.
    viewer_context = await browser.new_context(base_url=stack.url)
    try:
        viewer = await viewer_context.new_page()
        await log_in(viewer, "vera", VIEWER_TEMPORARY)
        await change_forced_password(viewer, VIEWER_TEMPORARY, VIEWER_OWN)
        await expect(viewer).not_to_have_url(re.compile(r"/change-password$"), timeout=60_000)  # Argon2id takes seconds
        await viewer.goto("/")
        seen = viewer.get_by_role("list", name="Needs attention").get_by_role("listitem").filter(has_text=unique_name)
        await expect(seen).to_have_count(1)
        await expect(seen).to_contain_text("3 backups failed")
        await expect(viewer.get_by_role("button", name="Acknowledge")).to_have_count(0)
    finally:
        await viewer_context.close()

    await log_in(page, "admin", ADMIN_PASSWORD)
    await page.set_viewport_size(PHONE)
    await page.goto("/")
    attention = page.get_by_role("list", name="Needs attention")
    line = attention.get_by_role("listitem").filter(has_text=unique_name)
    await expect(line).to_have_count(1)  # one line for the three failures, not three
    text = await line.inner_text()
    assert "3 backups failed" in text, text
    assert "volume does not exist" in text, text
    assert not UUID.search(text), f"an id on the dashboard: {text}"
    assert all(job["plan_id"] not in text for job in jobs), text
    assert len(text) < 250, f"a long line: {text}"
    await expect(line.get_by_role("link", name="View 3 failed jobs")).to_have_attribute(
        "href", re.compile(r"/jobs\?status=failed&kind=backup")
    )
    await screenshot(page, "phone-dashboard-attention")

    acknowledge = line.get_by_role("button", name="Acknowledge")
    await expect(acknowledge).to_be_in_viewport(ratio=1)
    await acknowledge.focus()
    await page.keyboard.press("Enter")
    await expect(attention.get_by_role("listitem").filter(has_text=unique_name)).to_have_count(0)

    await page.get_by_role("button", name=re.compile(r"Show acknowledged \(\d+\)")).click()
    hidden = page.get_by_role("list", name="Acknowledged").get_by_role("listitem").filter(has_text=unique_name)
    await expect(hidden).to_contain_text("3 backups failed")
    await expect(hidden).to_contain_text("Acknowledged by admin")
    await screenshot(page, "phone-dashboard-acknowledged")
    await page.reload()
    await expect(page.get_by_role("list", name="Needs attention").filter(has_text=unique_name)).to_have_count(0)
