"""The getting-started checklist of GET /dashboard on the real gateway: a new installation
worked through step by step over the API and the bus (an executor's heartbeat, an S3 target,
a plan, its backup, a verification of the archive) until the checklist is complete."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from dockback_contracts import events as ev
from gateway.catalog_facts import archive_created
from gateway.conftest import HOST_ID, Gateway, logged_in_admin
from gateway.host_reports import heartbeat, inventory, report_host, volume
from gateway.job_facts import job_in, publish, started
from gateway.plan_requests import plan_body
from gateway.settings_bodies import TARGET
from harness.eventually import eventually

STEPS = ["host_online", "storage_target", "first_plan", "first_backup", "first_verified_backup"]


async def checklist(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/dashboard")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["getting_started"]
    assert [step["step"] for step in found["steps"]] == STEPS
    return found


def done(found: dict[str, Any]) -> list[str]:
    return [step["step"] for step in found["steps"] if step["done"]]


def step(found: dict[str, Any], name: str) -> dict[str, Any]:
    (one,) = (s for s in found["steps"] if s["step"] == name)
    return one


async def attention_kinds(client: httpx.AsyncClient) -> list[str]:
    return [item["kind"] for item in (await client.get("/dashboard")).json()["attention"]]


async def test_a_new_installation_works_through_the_checklist_until_it_is_complete(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        empty = await checklist(admin)
        assert (done(empty), empty["complete"]) == ([], False)
        assert step(empty, "host_online")["detail"].startswith("No executor has reported yet")

        await report_host(
            gateway, admin, inventory(HOST_ID, volumes=[volume("pgdata"), volume("cache")]), heartbeat(HOST_ID)
        )
        found = await checklist(admin)
        assert done(found) == ["host_online"]
        assert (step(found, "host_online")["host_id"], step(found, "host_online")["detail"]) == (
            HOST_ID,
            f"{HOST_ID} is online",
        )
        # While the installation is new, its unprotected volumes are one count, not an item each.
        assert found["unprotected_volumes"] == 2
        assert "unprotected_volume" not in await attention_kinds(admin)

        assert (await admin.post("/settings/targets", json=TARGET)).status_code == 201
        found = await checklist(admin)
        assert done(found) == ["host_online", "storage_target"]
        assert "offsite" in step(found, "storage_target")["detail"]

        created = await admin.post(
            "/plans", json=plan_body(name="nightly", host_id=HOST_ID, targets=[{"kind": "volume", "names": ["pgdata"]}])
        )
        assert created.status_code == 201, created.text
        plan_id = created.json()["id"]
        found = await checklist(admin)
        assert done(found) == ["host_online", "storage_target", "first_plan"]
        assert step(found, "first_plan")["plan_id"] == plan_id
        assert step(found, "first_backup")["plan_id"] == plan_id, "the plan to run now"
        assert found["unprotected_volumes"] == 1

        run = await admin.post("/jobs", json={"plan_id": plan_id})
        assert run.status_code == 202, run.text
        job_id = uuid.UUID(run.json()["id"])
        await publish(gateway, started(job_id))
        archive = archive_created(HOST_ID, uuid.UUID(plan_id), "pgdata", datetime.now(UTC), job_id=job_id)
        await publish(gateway, archive)
        await eventually(lambda: job_in(gateway, job_id, "succeeded"))
        found = await checklist(admin)
        assert done(found) == ["host_online", "storage_target", "first_plan", "first_backup"]
        backup = step(found, "first_backup")
        assert (backup["job_id"], backup["detail"]) == (str(job_id), "Backup of plan nightly succeeded")
        to_verify = step(found, "first_verified_backup")
        assert (to_verify["artifact_id"], to_verify["plan_id"]) == (str(archive.archive.artifact_id), plan_id)

        verify = await admin.post(f"/artifacts/{archive.archive.artifact_id}/verify")
        assert verify.status_code == 202, verify.text
        await publish(
            gateway,
            ev.ArchiveVerified(
                job_id=uuid.UUID(verify.json()["job_id"]),
                host_id=HOST_ID,
                artifact_id=archive.archive.artifact_id,
                sha256=archive.archive.sha256,
                file_count=3,
            ),
        )

        async def completed() -> dict[str, Any] | None:
            found = await checklist(admin)
            return found if found["complete"] else None

        found = await eventually(completed)
        assert done(found) == STEPS
        assert step(found, "first_verified_backup")["artifact_id"] == str(archive.archive.artifact_id)
        # Once complete the dashboard is as before: the unprotected volume is an item again.
        assert await attention_kinds(admin) == ["unprotected_volume"]


async def test_a_disabled_plan_is_not_a_first_plan_and_the_step_says_why(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await report_host(gateway, admin, inventory(HOST_ID, volumes=[volume("pgdata")]), heartbeat(HOST_ID))
        created = await admin.post("/plans", json=plan_body(name="paused", host_id=HOST_ID, enabled=False))
        assert created.status_code == 201, created.text
        plan = step(await checklist(admin), "first_plan")
        assert (plan["done"], plan["plan_id"]) == (False, created.json()["id"])
        assert plan["detail"].startswith("Plan paused is disabled")

        assert (await admin.post(f"/plans/{created.json()['id']}/enable")).status_code in (200, 204)
        assert step(await checklist(admin), "first_plan")["done"]
