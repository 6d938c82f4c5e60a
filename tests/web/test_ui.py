"""A new user's story in a real Chromium: first login and the forced password change, MFA,
a plan for a volume run and watched to success, a restore through the wizard checked through
the Docker API, what a viewer does not see, session renewal, and the audit log."""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal

from executor.volumes import create_volume, describe, docker_cli, populate
from playwright.async_api import Locator, Page, expect

from harness.eventually import eventually
from web.conftest import (
    ADMIN_PASSWORD,
    Stack,
    api_admin,
    change_forced_password,
    create_volume_plan,
    host_online,
    log_in,
    screenshot,
    unused_totp_code,
)


def nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


async def test_first_login_forces_a_password_change_then_mfa_guards_the_login(page: Page, stack: Stack) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await screenshot(page, "01-login")
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password", exact=True).fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert").first).to_contain_text("invalid username or password")

    await page.get_by_label("Password", exact=True).fill(stack.gateway.admin_password)
    await page.get_by_role("button", name="Log in").click()
    await screenshot(page, "02-forced-password-change")
    await change_forced_password(page, stack.gateway.admin_password, ADMIN_PASSWORD)
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    await nav(page, "Account").click()
    mfa = page.get_by_role("region", name="Two-factor authentication")
    await mfa.get_by_role("button", name="Set up two-factor authentication").click()
    await mfa.get_by_label("Current password").fill(ADMIN_PASSWORD)
    await mfa.get_by_role("button", name="Continue").click()
    secret = (await page.get_by_test_id("mfa-secret").inner_text()).replace(" ", "").strip()
    await expect(mfa.get_by_role("img")).to_be_visible()  # the QR code
    code, enrolment_step = unused_totp_code(secret)
    await mfa.get_by_label("Authentication code").fill(code)
    await mfa.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("recovery-codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    await screenshot(page, "03-account-recovery-codes")
    await page.get_by_role("button", name="I have saved these codes").click()
    await expect(page.get_by_test_id("recovery-codes")).to_have_count(0)

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await screenshot(page, "04-login-second-factor")
    # the code just used to enrol, typed again: refused, saying why and what to do
    await page.get_by_label("Authentication code").fill(code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert").first).to_contain_text("this code was already used; wait for the next one")
    code, _ = unused_totp_code(secret, last_used_step=enrolment_step)
    await page.get_by_label("Authentication code").fill(code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


async def test_a_plan_runs_to_success_and_the_wizard_restores_it_into_a_new_volume(
    page: Page, stack: Stack, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    volume, restored = unique_name, f"{unique_name}-restored"
    await create_volume(volume, docker_labels)
    await populate(busybox_image, volume, docker_labels, small_files=200)
    original = await describe(busybox_image, volume, docker_labels)
    admin = await api_admin(stack)
    try:
        await eventually(lambda: host_online(admin), timeout=60)
        await log_in(page, "admin", ADMIN_PASSWORD)
        await screenshot(page, "05-dashboard-empty")

        await nav(page, "Plans").click()
        await page.get_by_role("link", name="New plan").first.click()
        await page.get_by_label("Name").fill(f"nightly {volume}")
        # a schedule that never comes says so; a preset fills the field; the schedule in words
        await page.get_by_label("Cron schedule").fill("0 0 31 2 *")
        await expect(page.get_by_text("This schedule never fires")).to_be_visible()
        await page.get_by_role("group", name="Schedule presets").get_by_role("button", name="Weekly").click()
        await expect(page.get_by_label("Cron schedule")).to_have_value("0 3 * * 0")
        await expect(page.get_by_test_id("cron-in-words")).to_have_text("At 03:00, only on Sunday")
        await page.get_by_label("Cron schedule").fill("30 3 * * *")
        await expect(page.get_by_test_id("cron-in-words")).to_have_text("At 03:30")
        await page.get_by_label("Time zone").fill("Europe/Berlin")
        next_runs = page.get_by_role("list", name="Next runs").get_by_role("listitem")
        await expect(next_runs).to_have_count(5)
        await expect(next_runs.first).to_contain_text("03:30")  # in the plan's zone, as typed
        await page.get_by_label(volume, exact=True).check()
        # the volume holds a setuid file: its restore brings it back only when the plan says so
        await page.get_by_label("Restores may write setuid and setgid files (admins only)").check()
        await screenshot(page, "06-plan-editor")
        await page.get_by_role("button", name="Save plan").click()
        await expect(page).to_have_url(re.compile(r"/plans$"))
        row = page.get_by_role("row").filter(has_text=f"nightly {volume}")
        await screenshot(page, "07-plans")
        await row.get_by_role("button", name="Run now").click()
        await page.get_by_role("link", name="view job").click()
        await expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
        await expect(page.get_by_text("succeeded", exact=True).first).to_be_visible(timeout=90_000)
        await expect(page.get_by_role("list", name="Job log")).to_contain_text("archive written")
        await expect(page.get_by_role("list", name="Job log")).not_to_contain_text(".v1")  # words, not codes
        await screenshot(page, "08-job-detail")
        # a finished job's figure is what its archive records, with no phase and no bar
        job = (await admin.get(f"/jobs/{page.url.rsplit('/', 1)[-1]}")).json()
        [made] = job["artifacts"]
        archive = (await admin.get(f"/artifacts/{made['id']}")).json()
        assert job["bytes_done"] == job["bytes_total"] == archive["raw_bytes"] > 0
        figure = page.get_by_text("Data backed up", exact=True).locator("xpath=following-sibling::dd[1]")
        await expect(figure).to_have_text(_as_shown(archive["raw_bytes"]))
        await expect(page.get_by_text(re.compile(r"^phase: "))).to_have_count(0)
        await expect(page.get_by_role("progressbar")).to_have_count(0)

        await page.get_by_role("link", name="Restore from this backup").first.click()
        await expect(page).to_have_url(re.compile(r"/restore\?artifact="))
        await page.get_by_label("New volume").check()
        # a free name beside the original is suggested; nothing is overwritten, so no name is typed again
        await expect(page.get_by_label("New name")).to_have_value(restored)
        await page.get_by_role("button", name="Preview").click()
        await screenshot(page, "09-restore-preview")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_label("Type the target name to confirm")).to_have_count(0)
        await page.get_by_role("button", name="Confirm", exact=True).click()
        await expect(page.get_by_text("succeeded", exact=True).first).to_be_visible(timeout=90_000)
        await expect(page.get_by_text(f"volume {restored} was created with the restored data")).to_be_visible()
        await screenshot(page, "10-restore-followed")
        restored_figure = page.get_by_text("Data restored", exact=True).locator("xpath=following-sibling::dd[1]")
        await expect(restored_figure).to_have_text(_as_shown(archive["raw_bytes"]))  # the archive's recorded size
        await expect(page.get_by_text(re.compile(r"^phase: "))).to_have_count(0)
        assert await describe(busybox_image, restored, docker_labels) == original

        # the pages follow what happened, without a reload: a backup started from Resources shows
        # in its row when it ends, and a check started from Backups in its row
        await nav(page, "Resources").click()
        row = page.get_by_role("row").filter(has_text=restored)
        await expect(row).to_contain_text("never backed up", timeout=30_000)
        await row.get_by_role("button", name="Back up now").click()
        await expect(row).not_to_contain_text("never backed up", timeout=90_000)
        await nav(page, "Backups").click()
        row = page.get_by_role("row").filter(has_text=restored)
        await expect(row.get_by_role("cell", name="never", exact=True)).to_be_visible()
        await row.get_by_role("button", name="Verify now").click()
        await expect(row.get_by_role("cell", name="never", exact=True)).to_have_count(0, timeout=90_000)
        await expect(row).to_contain_text("verified")

        for name, path in [
            ("11-dashboard", "/"),
            ("12-resources", "/resources"),
            ("13-jobs", "/jobs"),
            ("14-backups", "/backups"),
            ("15-settings", "/settings"),
            ("16-users", "/users"),
        ]:
            await page.goto(path)
            await expect(page.get_by_role("heading", level=1)).to_be_visible()
            await screenshot(page, name)

        await page.goto("/audit")
        await expect(page.get_by_role("cell", name=re.compile(r"^restore\.request")).first).to_be_visible()
        await expect(page.get_by_role("cell", name=re.compile(r"^plan\.create")).first).to_be_visible()
        await screenshot(page, "17-audit")
    except BaseException:
        print(stack.services.logs())
        raise
    finally:
        await admin.aclose()
        await docker_cli("volume", "rm", "-f", restored)


async def test_a_viewer_sees_no_button_it_cannot_use(
    page: Page, stack: Stack, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    admin = await api_admin(stack)
    try:
        created = await create_volume_plan(admin, f"viewed {unique_name}", [unique_name], "0 4 * * *")
        run = await admin.post("/jobs", json={"plan_id": created["id"]})
        assert run.status_code == 202, run.text
        job_id = run.json()["id"]

        async def succeeded() -> bool:
            return (await admin.get(f"/jobs/{job_id}")).json()["status"] == "succeeded"

        await eventually(succeeded, timeout=90, interval=0.5)
        made = await admin.post("/users", json={"username": "vic", "role": "viewer", "password": "temporary-pass-1234"})
        assert made.status_code == 201, made.text
    finally:
        await admin.aclose()

    await page.goto("/login")
    await page.get_by_label("Username").fill("vic")
    await page.get_by_label("Password", exact=True).fill("temporary-pass-1234")
    await page.get_by_role("button", name="Log in").click()
    await change_forced_password(page, "temporary-pass-1234", "viewer-own-passphrase-1")
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for hidden in ("Restore", "Users", "Settings"):
        await expect(
            page.get_by_role("navigation", name="Main").get_by_role("link", name=hidden, exact=True)
        ).to_have_count(0)

    await page.goto("/plans")
    await expect(page.get_by_role("row").filter(has_text=f"viewed {unique_name}")).to_be_visible()
    for action in ("Run now", "Edit", "Delete", "Disable"):
        await expect(page.get_by_role("button", name=action)).to_have_count(0)
    await expect(page.get_by_role("link", name="New plan")).to_have_count(0)

    await page.goto(f"/jobs/{job_id}")
    await expect(page.get_by_text("succeeded", exact=True).first).to_be_visible()
    await expect(page.get_by_role("link", name="Restore from this backup")).to_have_count(0)
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)

    await page.goto("/backups")
    await expect(page.get_by_role("table", name="Backups").get_by_text(unique_name).first).to_be_visible()
    await expect(page.get_by_role("button", name="Verify now")).to_have_count(0)
    await expect(page.get_by_role("link", name="Restore")).to_have_count(0)

    await page.goto("/resources")
    await expect(page.get_by_role("table", name="Volumes").get_by_text(unique_name).first).to_be_visible()
    await expect(page.get_by_role("button", name="Back up now")).to_have_count(0)
    await screenshot(page, "18-viewer-resources")


async def test_an_expired_access_token_is_renewed_silently_and_a_lost_session_returns_to_login(
    page: Page, stack: Stack
) -> None:
    admin = await api_admin(stack)
    await admin.aclose()
    await log_in(page, "admin", ADMIN_PASSWORD)
    await nav(page, "Jobs").click()
    await expect(page.get_by_role("heading", name="Jobs")).to_be_visible()

    # The access cookie is gone (as when it expires): the next request renews it unseen.
    await page.context.clear_cookies(name="dockback_access")
    await nav(page, "Audit log").click()  # nothing of it is cached: it is read with a renewed session
    await expect(page.get_by_role("cell", name="login", exact=True).first).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert any(c["name"] == "dockback_access" for c in await page.context.cookies())

    # A filtered view lives in its URL, and exports as CSV with the same filters.
    await page.goto("/audit?outcome=success&action=login")
    await expect(page.get_by_label("Action", exact=True)).to_have_value("login")
    await expect(page.get_by_role("cell", name="login", exact=True).first).to_be_visible()
    await expect(page.get_by_role("cell", name="logout", exact=True)).to_have_count(0)
    export = page.get_by_role("link", name="Export CSV")
    assert await export.get_attribute("href") == "/api/audit/export.csv?action=login&outcome=success"
    exported = await page.request.get("/api/audit/export.csv?action=login&outcome=success")
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    assert rows
    assert {(r["action"], r["outcome"]) for r in rows} == {("login", "success")}, rows

    # Both cookies gone (the session ended): back to the login, which returns here afterwards.
    await page.context.clear_cookies()
    await nav(page, "Jobs").click()
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fjobs"))
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/jobs$"))


def _as_shown(count: int) -> str:
    """A byte count as the web UI writes it (lib/format.ts formatBytes: 1024s, one decimal below 10,
    halves rounded up as JavaScript's toFixed does)."""
    value, unit = Decimal(count), 0
    while value >= 1024 and unit < 5:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{count} B"
    places = Decimal("0.1") if value < 10 else Decimal("1")
    return f"{value.quantize(places, rounding=ROUND_HALF_UP)} {['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'][unit]}"
