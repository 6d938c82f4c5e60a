"""Repository backups in a real Chromium: an admin makes a plan of the format repository in the
plan editor, runs it, sees its snapshot on the Backups page, browses it, restores one directory
of it into a new volume through the wizard, and exports the repository's recovery sheet from
Settings."""

from __future__ import annotations

import re

from executor.volumes import create_volume, docker_cli, populate, run_in
from playwright.async_api import Page, expect

from harness.eventually import eventually
from web.conftest import ADMIN_PASSWORD, Stack, api_admin, host_online, log_in, screenshot


async def test_a_repository_plan_is_made_run_browsed_and_its_recovery_sheet_exported(
    page: Page, stack: Stack, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=20)
    admin = await api_admin(stack)
    await eventually(lambda: host_online(admin), timeout=60)
    await log_in(page, "admin", ADMIN_PASSWORD)
    main = page.get_by_role("navigation", name="Main")

    await main.get_by_role("link", name="Plans", exact=True).click()
    await page.get_by_role("link", name="New plan").first.click()
    await page.get_by_label("Name").fill(f"snapshots {unique_name}")
    await page.get_by_label(unique_name, exact=True).check()
    await page.get_by_label("Format").select_option("repository")
    await expect(page.locator("#plan-format-hint")).to_contain_text("restic repository")
    await screenshot(page, "20-plan-editor-repository")
    await page.get_by_role("button", name="Save plan").click()
    await expect(page).to_have_url(re.compile(r"/plans$"))
    row = page.get_by_role("row").filter(has_text=f"snapshots {unique_name}")
    await row.get_by_role("button", name="Run now").click()
    await page.get_by_role("link", name="view job").click()
    await expect(page.get_by_text("succeeded", exact=True).first).to_be_visible(timeout=90_000)
    await expect(page.get_by_role("list", name="Job log")).to_contain_text("snapshot")

    await main.get_by_role("link", name="Backups", exact=True).click()
    backup = page.get_by_role("row").filter(has_text=unique_name).filter(has_text="snapshot")
    await backup.get_by_role("button", name="Browse").click()
    top = page.get_by_role("table", name="Snapshot directory /")
    await expect(top).to_contain_text("regular.txt", timeout=30_000)
    # one file downloaded as it is, streamed from the host
    async with page.expect_download() as downloading:
        await top.get_by_role("link", name="Download /regular.txt").click()
    download = await downloading.value
    assert download.suggested_filename == "regular.txt"
    assert (await download.path()).read_bytes() == b"plain text\n"
    await top.get_by_role("button", name="nested/").click()
    await expect(page.get_by_role("table", name="Snapshot directory /nested")).to_contain_text("deeper")
    await screenshot(page, "21-snapshot-browser")

    # one directory of it restored into a new volume through the wizard
    await page.get_by_role("link", name="Restore /nested/deeper").click()
    await page.get_by_label("New volume").check()
    await page.get_by_label("New name").fill(f"{unique_name}-deeper")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_text("Only /nested/deeper of the snapshot is restored.", exact=False)).to_be_visible()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Confirm", exact=True).click()
    await expect(page.get_by_text("succeeded", exact=True).first).to_be_visible(timeout=90_000)
    restored = await run_in(busybox_image, f"{unique_name}-deeper", "cd /data && find . -type f", docker_labels)
    assert restored.split() == [b"./nested/deeper/deepest/file"]

    await main.get_by_role("link", name="Settings", exact=True).click()
    repositories = page.get_by_role("table", name="Repositories")
    await expect(repositories).to_contain_text(f"snapshots {unique_name}")
    await repositories.get_by_role("button", name="Export recovery sheet").click()
    sheet = page.get_by_label(re.compile(r"^Recovery sheet of plan-"))
    await expect(sheet).to_contain_text("Password:")
    await expect(sheet).to_contain_text("restic snapshots")
    await docker_cli("volume", "rm", "-f", f"{unique_name}-deeper")
