"""A plan of format `repository`, end to end on the real services and restic: its runs save
snapshots of the volume into the plan's own restic repository on the host (the second reads no
unchanged file again), the catalog records each as a snapshot, and the repository opens with the
password the gateway made, as plain restic on the host sees it."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
from executor.volumes import create_volume, docker_cli, populate
from gateway.conftest import Gateway, logged_in_admin

from dockback_contracts.snapshots import plan_repository, repository_password
from dockback_gateway.repositories.models import Repository
from e2e.conftest import HOST_ID, Services
from e2e.host_status import host_online
from harness.eventually import eventually


async def run_plan(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    """Back the plan up now and wait for its job to end."""
    accepted = await client.post("/jobs", json={"plan_id": plan_id})
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]

    async def finished() -> dict[str, Any] | None:
        job = (await client.get(f"/jobs/{job_id}")).json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    job = await eventually(finished, timeout=90, interval=0.3)
    assert job["status"] == "succeeded", job
    return dict(job)


async def password_of(gateway: Gateway, repository: str) -> str:
    async with gateway.app.state.sessions() as db:
        row = await db.get(Repository, (HOST_ID, repository))
    assert row is not None
    cipher = gateway.app.state.auth_config.cipher
    return str(cipher.decrypt(row.password, repository_password(HOST_ID, repository)).decode())


async def test_a_repository_plan_saves_incremental_snapshots_the_catalog_records(
    gateway: Gateway, services: Services, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=100)
    services.executor()
    try:
        async with logged_in_admin(gateway) as client:
            await eventually(lambda: host_online(client), timeout=60)
            created = await client.post(
                "/plans",
                json={
                    "name": f"snapshots {unique_name}",
                    "host_id": HOST_ID,
                    "targets": [{"kind": "volume", "names": [unique_name]}],
                    "cron": "0 3 * * *",
                    "timezone": "UTC",
                    "options": {"format": "repository"},
                },
            )
            assert created.status_code == 201, created.text
            plan = created.json()

            first, second = await run_plan(client, plan["id"]), await run_plan(client, plan["id"])

            artifacts = (await client.get("/artifacts", params={"plan_id": plan["id"]})).json()["items"]
            [one] = [a for a in artifacts if a["job_id"] == first["id"]]
            [two] = [a for a in artifacts if a["job_id"] == second["id"]]
            [in_job] = (await client.get(f"/jobs/{second['id']}")).json()["artifacts"]
            assert (in_job["format"], in_job["snapshot_id"]) == ("repository", two["snapshot_id"])
            repository = plan_repository(plan["id"])
            for artifact in (one, two):
                assert artifact["format"] == "repository"
                assert artifact["repository"] == repository
                assert artifact["path"] == f"repositories/{repository}"
                assert artifact["role"] == unique_name
            assert one["snapshot_id"] != two["snapshot_id"]
            assert one["raw_bytes"] == two["raw_bytes"] > 0  # the whole volume, each time
            assert two["size_bytes"] < one["size_bytes"]  # the second added (almost) nothing
            log = [line["message"] for line in (await client.get(f"/jobs/{second['id']}")).json()["events"]]
            assert any("0 new, 0 changed" in line and "unchanged files" in line for line in log), log

            # what reads or removes an archive file is never sent a snapshot: refused, saying why
            preview = await client.post(
                "/restores/preview", json={"artifact_id": two["id"], "target": {"kind": "volume", "name": "elsewhere"}}
            )
            assert preview.status_code == 422, preview.text
            assert "is snapshot" in preview.text
            assert (await client.delete(f"/artifacts/{two['id']}")).status_code == 422

            # plain restic on the host, with the password the gateway made, sees both, tagged
            restic = await asyncio.create_subprocess_exec(
                *("restic", "snapshots", "--json", "--no-lock", "-r", str(services.data_dir / one["path"])),
                env={**os.environ, "RESTIC_PASSWORD": await password_of(gateway, repository)},
                stdout=asyncio.subprocess.PIPE,
            )
            listed, _ = await restic.communicate()
            assert restic.returncode == 0
            snapshots = json.loads(listed)
            assert sorted(s["id"] for s in snapshots) == sorted([one["snapshot_id"], two["snapshot_id"]])
            assert all(s["hostname"] == HOST_ID for s in snapshots)
            assert all(s["paths"] == [f"/volumes/{unique_name}"] for s in snapshots)
            assert all(f"plan={plan['id']}" in s["tags"] and f"role={unique_name}" in s["tags"] for s in snapshots)
    except BaseException:
        print(services.logs())
        raise


async def test_a_containers_volumes_become_snapshots_beside_its_config_archive(
    gateway: Gateway, services: Services, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    volume, container = f"{unique_name}-data", f"{unique_name}-app"
    await create_volume(volume, docker_labels)
    labels = [arg for key, value in docker_labels.items() for arg in ("--label", f"{key}={value}")]
    await docker_cli("create", "--name", container, *labels, "-v", f"{volume}:/data", busybox_image, "sleep", "1")
    services.executor()
    try:
        async with logged_in_admin(gateway) as client:
            await eventually(lambda: host_online(client), timeout=60)
            created = await client.post(
                "/plans",
                json={
                    "name": f"container {unique_name}",
                    "host_id": HOST_ID,
                    "targets": [{"kind": "container", "names": [container]}],
                    "cron": "0 3 * * *",
                    "timezone": "UTC",
                    "options": {"format": "repository"},
                },
            )
            assert created.status_code == 201, created.text

            job = await run_plan(client, created.json()["id"])

            artifacts = (await client.get(f"/jobs/{job['id']}")).json()["artifacts"]
            assert sorted((a["role"], a["format"]) for a in artifacts) == [
                ("config", "archive"),
                (volume, "repository"),
            ]
            [config] = [a for a in artifacts if a["role"] == "config"]
            # restoring the container alone would bring it back without its data: refused, saying why
            preview = await client.post(
                "/restores/preview",
                json={"artifact_id": config["id"], "target": {"kind": "container", "name": f"{container}-2"}},
            )
            assert preview.status_code == 422, preview.text
            assert "as snapshots" in preview.text
    except BaseException:
        print(services.logs())
        raise
    finally:
        await docker_cli("rm", "-f", container)
