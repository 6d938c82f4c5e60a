"""The web UI on a phone (390×844) and a laptop (1366×900) in a real Chromium against the real
stack: every main page fits its viewport (no sideways scrolling of the page; on the phone a list
stacks its rows, any other wide table scrolls in its own box), the navigation folds behind a
button on the phone, the dashboard answers "did the backups run, what failed" on the first
screen, and a job's long failure reason is cut short in the jobs list but given whole on the
job's page. A picture of every page at both sizes is left in
test-results/screenshots/ (phone-*, desktop-*)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from executor.volumes import create_volume, populate
from playwright.async_api import Page, expect

from harness.eventually import eventually
from web.conftest import ADMIN_PASSWORD, Stack, api_admin, create_volume_plan, log_in, screenshot

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
MAIN_PAGES = [
    ("dashboard", "/"),
    ("resources", "/resources"),
    ("plans", "/plans"),
    ("plan-editor", "/plans/new"),
    ("jobs", "/jobs"),
    ("backups", "/backups"),
    ("restore", "/restore"),
    ("settings", "/settings"),
    ("users", "/users"),
    ("audit", "/audit"),
    ("account", "/account"),
]
# How the page measures itself: the page's own width against the viewport, the main column,
# and each table against the box it sits in.
MEASURE = """() => ({
  scrollWidth: document.scrollingElement.scrollWidth,
  main: document.querySelector("main")?.getBoundingClientRect().width ?? 0,
  tables: [...document.querySelectorAll("main table")].map((table) => ({
    label: table.getAttribute("aria-label") ?? table.querySelector("th")?.textContent,
    width: table.getBoundingClientRect().width,
    box: table.parentElement.clientWidth,
    boxRight: table.parentElement.getBoundingClientRect().right,
    overflowX: getComputedStyle(table.parentElement).overflowX,
    stacked: table.parentElement.classList.contains("stack"),
  })),
})"""


async def _failed_job(stack: Stack, name: str, missing: int = 12, also: list[str] | None = None) -> dict[str, Any]:
    """A plan over volumes that do not exist, run once: its job fails at once, the reason naming
    every missing volume (a few hundred characters). With `also`: a plan over those volumes too
    (named "phone <name>"), made with the same admin session (the first one changes the password)."""
    admin = await api_admin(stack)
    try:
        if also:
            await create_volume_plan(admin, f"phone {name}", also, "0 4 * * *")
        gone = [f"{name}-gone-{i}" for i in range(missing)]
        created = await create_volume_plan(admin, f"nightly {name}", gone, "0 3 * * *")
        run = await admin.post("/jobs", json={"plan_id": created["id"]})
        assert run.status_code == 202, run.text

        async def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = (await admin.get(f"/jobs/{run.json()['id']}")).json()
            return job if job["finished"] else None

        job = await eventually(finished, timeout=90, interval=0.5)
    except (AssertionError, httpx.HTTPError):
        print(stack.services.logs())
        raise
    finally:
        await admin.aclose()
    assert job["status"] == "failed", job
    assert len(job["error"]) > 300, job["error"]
    return job


async def _fits(page: Page, viewport: dict[str, int], where: str) -> dict[str, Any]:
    facts: dict[str, Any] = await page.evaluate(MEASURE)
    assert facts["scrollWidth"] <= viewport["width"], f"{where}: the page scrolls sideways: {facts}"
    for table in facts["tables"]:
        fits = table["width"] <= table["box"] + 1
        assert fits or table["overflowX"] in ("auto", "scroll"), f"{where}: table overflows its box: {table}"
        if viewport == PHONE and table["stacked"]:
            assert fits, f"{where}: a table that stacks its rows on a phone is wider than the screen: {table}"
        assert table["boxRight"] <= viewport["width"], f"{where}: a table's box is past the viewport: {table}"
    return facts


async def _visit(page: Page, path: str, picture: str, viewport: dict[str, int]) -> dict[str, Any]:
    await page.goto(path)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)
    await screenshot(page, picture)
    return await _fits(page, viewport, picture)


async def test_a_long_failure_reason_is_cut_short_in_the_jobs_list_and_whole_on_the_job_page(
    page: Page, stack: Stack, unique_name: str
) -> None:
    job = await _failed_job(stack, unique_name)
    await page.set_viewport_size(DESKTOP)
    await log_in(page, "admin", ADMIN_PASSWORD)
    await page.goto("/jobs")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile(job["id"][:8])))
    await expect(row.get_by_text("backup is incomplete")).to_be_visible()
    facts = await _fits(page, DESKTOP, "jobs")
    (jobs_table,) = facts["tables"]
    assert jobs_table["width"] <= jobs_table["box"] + 1, f"the jobs table is wider than its box: {jobs_table}"
    reason = row.locator(".job-error")
    assert await reason.get_attribute("title") == job["error"], "the whole reason on hover"

    await row.get_by_role("link", name=re.compile("details")).click()
    await expect(page.get_by_role("alert")).to_contain_text(job["error"])
    await _fits(page, DESKTOP, "job detail")


async def test_every_main_page_fits_a_phone_and_a_laptop(page: Page, stack: Stack, unique_name: str) -> None:
    job = await _failed_job(stack, unique_name)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(viewport)
        await page.goto("/login")
        await expect(page.get_by_role("button", name="Log in")).to_be_visible()
        await screenshot(page, f"{name}-login")
        await _fits(page, viewport, f"{name}-login")
    await log_in(page, "admin", ADMIN_PASSWORD)
    menu = page.get_by_role("button", name="Menu")
    for name, path in [*MAIN_PAGES, ("job", f"/jobs/{job['id']}")]:
        await _visit(page, path, f"desktop-{name}", DESKTOP)
    await expect(menu).to_be_hidden()  # a laptop shows the navigation as it is

    await page.set_viewport_size(PHONE)
    for name, path in [*MAIN_PAGES, ("job", f"/jobs/{job['id']}")]:
        facts = await _visit(page, path, f"phone-{name}", PHONE)
        assert facts["main"] >= 350, f"phone-{name}: the content is {facts['main']} px wide"

    # The jobs list stacks its rows: a failure's reason is on the screen, not off to the side.
    await page.goto("/jobs")
    reason = page.get_by_role("table", name="Jobs").locator(".job-error")
    await expect(reason).to_contain_text("backup is incomplete")
    await expect(reason).to_be_in_viewport(ratio=1)

    # The navigation is folded behind a button that says what it opens and whether it is open.
    nav = page.get_by_role("navigation", name="Main")
    jobs_link = nav.get_by_role("link", name="Jobs", exact=True)
    await page.goto("/")
    await expect(menu).to_be_visible()
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(jobs_link).to_be_hidden()
    controlled = await menu.get_attribute("aria-controls")
    assert controlled, "the button names what it opens"
    await expect(
        page.locator(f"#{controlled}").get_by_role("link", name="Jobs", exact=True, include_hidden=True)
    ).to_have_count(1)
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(jobs_link).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    await screenshot(page, "phone-navigation-open")
    await jobs_link.click()
    await expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    await expect(menu).to_have_attribute("aria-expanded", "false")  # going somewhere folds it again
    await expect(jobs_link).to_be_hidden()
    # ... and by keyboard: Enter opens it, Escape folds it and gives the focus back to the button.
    await menu.focus()
    await page.keyboard.press("Enter")
    await expect(jobs_link).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(jobs_link).to_be_hidden()
    await expect(menu).to_be_focused()

    # The dashboard on the phone: one column, and the first screen says how the last day's jobs
    # went and which failed.
    await page.goto("/")
    attention = page.get_by_role("list", name="Needs attention")
    failure = attention.get_by_role("listitem").filter(has_text=f"nightly {unique_name}")
    await expect(failure).to_be_visible()
    last_day = page.locator(".card").filter(has=page.get_by_role("heading", name="Jobs, last 24 h"))
    await expect(last_day).to_be_in_viewport(ratio=1)
    await expect(last_day.locator(".stat.bad")).to_have_text("1")  # failed
    await expect(failure.get_by_role("link", name="View job")).to_be_in_viewport(ratio=1)
    cards = await page.locator("main .card").evaluate_all(
        "(cards) => cards.map((card) => [card.getBoundingClientRect().left, card.getBoundingClientRect().width])"
    )
    assert len({round(left) for left, _ in cards}) == 1, f"the dashboard's cards are not in one column: {cards}"
    assert all(width >= 350 for _, width in cards), cards


async def test_on_a_phone_last_nights_failure_is_seen_and_a_backup_is_started_and_followed(
    page: Page, stack: Stack, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    """The phone user's errand: what failed, then a backup started from the phone, followed to
    its end on the job's page."""
    volume = f"{unique_name}-data"
    await create_volume(volume, docker_labels)
    await populate(busybox_image, volume, docker_labels, small_files=5)
    await _failed_job(stack, unique_name, also=[volume])
    plan_name = f"phone {unique_name}"
    await log_in(page, "admin", ADMIN_PASSWORD)
    await page.set_viewport_size(PHONE)
    await page.goto("/")
    failure = page.get_by_role("list", name="Needs attention").get_by_role("listitem")
    await expect(failure.filter(has_text=f"nightly {unique_name}")).to_be_in_viewport()

    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Plans", exact=True).click()
    row = page.get_by_role("row").filter(has_text=plan_name)
    run_now = row.get_by_role("button", name="Run now")
    await run_now.scroll_into_view_if_needed()
    await expect(run_now).to_be_in_viewport(ratio=1)  # reachable without sideways scrolling
    await run_now.click()
    await row.get_by_role("link", name="view job").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Job")
    await expect(page.get_by_text(plan_name).first).to_be_visible()
    await expect(page.get_by_text("succeeded", exact=True).first).to_be_visible(timeout=90_000)
    await screenshot(page, "phone-backup-started")
    await _fits(page, PHONE, "phone job page")
