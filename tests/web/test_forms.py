"""Editing forms in a real Chromium: number fields keep what is typed (an emptied field stays
empty and is refused on save by its name), a refused save takes the user to the field and says
why beside the Save button, the API's message on a field goes once the field changes, and
unsaved changes ask before navigation drops them: in the plan editor and the settings."""

from __future__ import annotations

import re

from executor.volumes import create_volume
from playwright.async_api import Dialog, Page, expect

from web.conftest import ADMIN_PASSWORD, Stack, api_admin, create_volume_plan, log_in


class Dialogs:
    """Answers the page's confirm and beforeunload dialogs as told, and remembers them."""

    def __init__(self, page: Page) -> None:
        self.accept = False
        self.seen: list[str] = []
        page.on("dialog", self._answer)

    async def _answer(self, dialog: Dialog) -> None:
        self.seen.append(f"{dialog.type}: {dialog.message}")
        if self.accept:
            await dialog.accept()
        else:
            await dialog.dismiss()


async def test_the_plan_editor_keeps_typed_numbers_points_at_refusals_and_guards_unsaved_changes(
    page: Page, stack: Stack, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    admin = await api_admin(stack)
    try:
        created = await create_volume_plan(admin, f"forms {unique_name}", [unique_name], "0 3 * * *")
        plan_id = created["id"]
        assert created["retention"]["keep_last"] == 7
        dialogs = Dialogs(page)
        await log_in(page, "admin", ADMIN_PASSWORD)
        await page.goto(f"/plans/{plan_id}")

        # An emptied number stays empty while typing: "3" is 3, not 73.
        keep_last = page.get_by_label("Keep last")
        await keep_last.fill("")
        await expect(keep_last).to_have_value("")
        await keep_last.press_sequentially("3")
        await expect(keep_last).to_have_value("3")

        # An empty Keep minimum is refused on save by its name: the field has the cursor and the
        # Save button says why.
        keep_minimum = page.get_by_label("Keep minimum")
        await keep_minimum.fill("")
        await expect(keep_minimum).to_have_value("")
        save = page.get_by_role("button", name="Save plan")
        await save.click()
        await expect(page.get_by_text("Keep minimum: enter a whole number from 1 to 10000")).to_be_visible()
        await expect(keep_minimum).to_be_focused()
        summary = page.locator(".form-actions").get_by_role("alert")
        await expect(summary).to_contain_text("Not saved")
        await expect(summary).to_contain_text("Keep minimum")
        assert (await admin.get(f"/plans/{plan_id}")).json()["retention"]["keep_minimum"] == 1

        # The API's message on the cron field goes once the field changes.
        await keep_minimum.fill("2")
        cron = page.get_by_label("Cron schedule")
        await cron.fill("61 * * * *")
        await save.click()
        refusal = page.get_by_text("invalid cron expression '61 * * * *'")
        await expect(refusal.first).to_be_visible()
        await expect(cron).to_be_focused()
        await expect(summary).to_contain_text("Cron schedule")
        await cron.fill("0 4 * * *")
        await expect(page.get_by_role("list", name="Next runs").get_by_role("listitem")).to_have_count(5)
        await expect(refusal).to_have_count(0)
        await expect(summary).to_have_count(0)

        # Unsaved changes: leaving asks; "stay" keeps the page and what was typed; a reload or
        # close of the tab would ask too (beforeunload is cancelled).
        async with page.expect_event("dialog") as asked:
            await page.get_by_role("link", name="Back to plans").click()
        question = await asked.value
        assert question.type == "confirm"
        assert question.message.startswith("You have unsaved changes"), question.message
        await expect(page).to_have_url(re.compile(f"/plans/{plan_id}$"))
        await expect(keep_last).to_have_value("3")
        unload_cancelled = await page.evaluate(
            "() => !window.dispatchEvent(new Event('beforeunload', { cancelable: true }))"
        )
        assert unload_cancelled

        # Saving does not ask, and saves what was typed.
        await save.click()
        await expect(page).to_have_url(re.compile(r"/plans$"))
        saved = (await admin.get(f"/plans/{plan_id}")).json()
        assert saved["retention"]["keep_last"] == 3
        assert saved["retention"]["keep_minimum"] == 2
        assert saved["cron"] == "0 4 * * *"
        assert len(dialogs.seen) == 1, dialogs.seen

        # Leaving an edited plan and saying yes drops the change.
        await page.goto(f"/plans/{plan_id}")
        await page.get_by_label("Name").fill("renamed, never saved")
        dialogs.accept = True
        await page.get_by_role("link", name="Back to plans").click()
        await expect(page).to_have_url(re.compile(r"/plans$"))
        assert len(dialogs.seen) == 2, dialogs.seen
        assert (await admin.get(f"/plans/{plan_id}")).json()["name"] == f"forms {unique_name}"

        # The settings forms do the same: an emptied part size stays empty and is refused by its
        # name, and a half-filled new target asks before the page is left.
        await page.goto("/settings")
        await page.get_by_role("button", name="Add a target").click()
        part_size = page.get_by_label("Part size (MiB)")
        await part_size.fill("")
        await expect(part_size).to_have_value("")
        await page.get_by_role("button", name="Save target").click()
        await expect(page.get_by_text("Part size (MiB): enter a number from 5 to 5120")).to_be_visible()
        await expect(part_size).to_be_focused()
        new_target = page.get_by_role("form", name="New S3 target")
        await expect(new_target.get_by_role("alert").filter(has_text="Not saved")).to_contain_text("Part size (MiB)")
        assert (await admin.get("/settings")).json()["targets"] == []
        # Test before saving: a provider fills in the endpoint, and the values as typed are tested
        # (no uploader runs in this stack, which the answer says); nothing is saved
        await part_size.fill("64")
        await new_target.get_by_label("Provider").select_option("MinIO")
        await expect(new_target.get_by_label("Endpoint")).to_have_value("<minio-host>:9000")
        await new_target.get_by_label("Endpoint").fill("minio.lan:9000")
        await new_target.get_by_label("Target id").fill("nas")
        await new_target.get_by_label("Bucket").fill("backups")
        await new_target.get_by_label("Access key").fill("typed-access-key")
        await new_target.get_by_label("Secret key").fill("typed-secret-key")
        await new_target.get_by_role("button", name="Test these values").click()
        await expect(new_target.get_by_role("alert").filter(has_text="No uploader answered")).to_be_visible()
        assert (await admin.get("/settings")).json()["targets"] == []
        dialogs.accept = False
        async with page.expect_event("dialog"):
            await page.get_by_role("navigation", name="Main").get_by_role("link", name="Plans", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/settings$"))
        await expect(part_size).to_be_visible()
    except BaseException:
        print(stack.services.logs())
        raise
    finally:
        await admin.aclose()
