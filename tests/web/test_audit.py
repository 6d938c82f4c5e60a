"""The audit log in a real Chromium: what a viewer tried and was refused is there for an admin to
see, and a backup's entry reads as the backup's name with a link, even when it made no job."""

from __future__ import annotations

import re

import httpx
from executor.volumes import create_volume, populate
from playwright.async_api import Page, expect

from harness.eventually import eventually
from web.conftest import ADMIN_PASSWORD, HOST_ID, Stack, api_admin, log_in

VIEWER_TEMPORARY = "viewer-temporary-pass-3"
VIEWER_OWN = "viewer-own-browser-pass-4"


async def _viewer_refused_three_times(stack: Stack) -> None:
    """A viewer's script tries what its role may not do: each attempt is refused (403)."""
    async with httpx.AsyncClient(base_url=f"{stack.url}/api", headers={"Origin": stack.url}, timeout=60) as viewer:
        login = await viewer.post("/auth/login", json={"username": "vera", "password": VIEWER_TEMPORARY})
        assert login.status_code == 200, login.text
        viewer.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        changed = await viewer.post(
            "/users/me/password", json={"current_password": VIEWER_TEMPORARY, "new_password": VIEWER_OWN}
        )
        assert changed.status_code == 204, changed.text
        again = await viewer.post("/auth/login", json={"username": "vera", "password": VIEWER_OWN})
        viewer.headers["X-CSRF-Token"] = again.json()["csrf_token"]
        for _ in range(3):
            refused = await viewer.post("/plans", json={})
            assert refused.status_code == 403, refused.text
        refused = await viewer.post("/jobs", json={})
        assert refused.status_code == 403, refused.text


async def test_an_admin_sees_a_viewers_refused_attempts_and_backups_by_name(
    page: Page, stack: Stack, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=3)
    admin = await api_admin(stack)
    try:
        made = await admin.post("/users", json={"username": "vera", "role": "viewer", "password": VIEWER_TEMPORARY})
        assert made.status_code == 201, made.text
        await _viewer_refused_three_times(stack)

        # a backup, and a restore of it refused (the name typed wrong): an audit row with no job
        run = await admin.post("/jobs", json={"host_id": HOST_ID, "resource": {"kind": "volume", "name": unique_name}})
        assert run.status_code == 202, run.text
        job_id = run.json()["id"]

        async def artifact_of_job() -> str | None:
            job = (await admin.get(f"/jobs/{job_id}")).json()
            return job["artifacts"][0]["id"] if job["status"] == "succeeded" and job["artifacts"] else None

        artifact_id = await eventually(artifact_of_job, timeout=90, interval=0.5)
        target = {"kind": "volume", "name": unique_name, "replace_existing": True}
        preview = await admin.post("/restores/preview", json={"artifact_id": artifact_id, "target": target})
        assert preview.status_code == 200, preview.text
        wrong = await admin.post("/restores", json={"token": preview.json()["token"], "confirm_name": "not-it"})
        assert wrong.status_code == 422, wrong.text
    finally:
        await admin.aclose()

    await log_in(page, "admin", ADMIN_PASSWORD)
    await page.goto("/audit?action=access.refused")
    refused_row = page.get_by_role("row").filter(has_text="vera")
    await expect(refused_row.filter(has_text="POST /plans")).to_have_count(1)  # three attempts, one row a minute
    await expect(refused_row.filter(has_text="POST /plans")).to_contain_text("the viewer role may not do this")
    await expect(refused_row.filter(has_text="POST /jobs")).to_have_count(1)

    await page.goto("/audit?action=restore")
    backup = page.get_by_role("link", name=f"backup of volume {unique_name}", exact=True)
    await expect(backup).to_be_visible()
    await expect(page.get_by_role("cell").get_by_text(artifact_id, exact=True)).to_have_count(0)  # not a bare id
    await backup.click()
    await expect(page).to_have_url(re.compile(rf"/backups\?host={HOST_ID}&kind=volume&resource={unique_name}$"))
    await expect(page.get_by_role("table", name="Backups").get_by_text(unique_name).first).to_be_visible()
