"""A user's whole story with curl's eyes: a plan fires on schedule, its job ends with an
artifact whose checksum matches the file, retention prunes the older one, and a restore
through preview and confirmation brings the data back into a new volume."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from executor.volumes import create_volume, describe, docker_cli, populate
from gateway.conftest import Gateway, logged_in_admin

from e2e.conftest import HOST_ID, Services
from e2e.host_status import host_online
from harness.eventually import eventually


async def _jobs(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/jobs", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _artifacts(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/artifacts", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _sha256(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def test_a_plan_fires_its_backup_is_pruned_by_retention_and_restored(
    gateway: Gateway, services: Services, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    volume, restored = unique_name, f"{unique_name}-restored"
    await create_volume(volume, {**docker_labels, "e2e.plan": volume})
    await populate(busybox_image, volume, docker_labels, small_files=200)
    original = await describe(busybox_image, volume, docker_labels)
    services.all()
    try:
        async with logged_in_admin(gateway) as client:
            await eventually(lambda: host_online(client), timeout=60)
            created = await client.post(
                "/plans",
                json={
                    "name": f"nightly {volume}",
                    "host_id": HOST_ID,
                    "targets": [{"kind": "volume", "label_selector": {"e2e.plan": volume}}],
                    "cron": "* * * * * */2",  # every two seconds (croniter's seconds field comes last)
                    "timezone": "Europe/Berlin",
                    "retention": {"keep_last": 1, "keep_minimum": 1},
                    # the volume holds a setuid file, restored bit for bit only when the plan says so
                    "restore_special_bits": True,
                },
            )
            assert created.status_code == 201, created.text
            plan = created.json()
            assert len(plan["next_fire_times"]) == 5

            async def two_succeeded() -> list[dict[str, Any]]:
                done = [j for j in await _jobs(client, plan_id=plan["id"]) if j["status"] == "succeeded"]
                return done if len(done) >= 2 else []

            succeeded = await eventually(two_succeeded, timeout=120, interval=0.5)
            detail = (await client.get(f"/jobs/{succeeded[-1]['id']}")).json()
            history = [line["type"] for line in detail["events"]]
            assert history[:3] == ["job_queued.v1", "job_started.v1", "archive_created.v1"], history
            assert detail["scheduled_for"] is not None
            assert detail["requested_by"] is None
            assert (await client.post(f"/plans/{plan['id']}/disable")).status_code == 200

            # Retention (keep the last one) prunes the older artifacts on the host, and only those.
            async def pruned_and_kept() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
                artifacts = await _artifacts(client, plan_id=plan["id"])
                pruned = [a for a in artifacts if a["state"] == "pruned"]
                available = [a for a in artifacts if a["state"] == "available"]
                return (pruned, available) if pruned and available else None

            pruned, available = await eventually(pruned_and_kept, timeout=60, interval=0.5)
            for artifact in pruned:
                assert not (services.data_dir / artifact["path"]).exists()
            newest = max(available, key=lambda a: a["created_at"])
            assert _sha256(services.data_dir / newest["path"]) == newest["sha256"]

            # Restore through preview and confirmation into a new volume.
            preview = await client.post(
                "/restores/preview",
                json={"artifact_id": newest["id"], "target": {"kind": "volume", "name": restored}},
            )
            assert preview.status_code == 200, preview.text
            assert preview.json()["target_exists"] is False
            confirmed = await client.post(
                "/restores", json={"token": preview.json()["token"], "confirm_name": restored}
            )
            assert confirmed.status_code == 202, confirmed.text
            job_id = confirmed.json()["job_id"]

            async def restore_finished() -> dict[str, Any] | None:
                job = (await client.get(f"/jobs/{job_id}")).json()
                return job if job["status"] in ("succeeded", "failed", "cancelled") else None

            job = await eventually(restore_finished, timeout=60, interval=0.5)
            assert job["status"] == "succeeded", job
            assert await describe(busybox_image, restored, docker_labels) == original
    except BaseException:
        print(services.logs())
        raise
    finally:
        await docker_cli("volume", "rm", "-f", restored)


async def test_a_job_whose_executor_is_killed_mid_job_still_ends(
    gateway: Gateway, services: Services, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    volume, app = unique_name, f"{unique_name}-app"
    await create_volume(volume, docker_labels)
    await populate(busybox_image, volume, docker_labels, small_files=20)
    labels = [f"--label={k}={v}" for k, v in docker_labels.items()]
    await docker_cli("run", "-d", "--name", app, *labels, "-v", f"{volume}:/data", busybox_image, "sleep", "3600")
    first = services.executor("executor-1")
    try:
        async with logged_in_admin(gateway) as client:
            await eventually(lambda: host_online(client), timeout=60)
            hook = ": > /tmp/waiting; until [ -f /tmp/go ]; do sleep 0.1; done"  # shell built-ins only
            run = await client.post(
                "/jobs",
                json={
                    "host_id": HOST_ID,
                    "resource": {"kind": "volume", "name": volume},
                    "options": {"pre_commands": [{"container": app, "command": ["sh", "-c", hook]}]},
                },
            )
            assert run.status_code == 202, run.text
            job_id = run.json()["id"]

            async def in_hook() -> bool:
                try:
                    await docker_cli("exec", app, "sh", "-c", "[ -f /tmp/waiting ]")
                except AssertionError:
                    return False
                return True

            await eventually(in_hook, timeout=60, interval=0.2)
            first.kill()
            first.wait()
            await docker_cli("exec", app, "sh", "-c", ": > /tmp/go")
            services.executor("executor-2")

            async def finished() -> dict[str, Any] | None:
                job = (await client.get(f"/jobs/{job_id}")).json()
                return job if job["finished"] else None

            job = await eventually(finished, timeout=120, interval=0.5)
            assert job["status"] == "succeeded", job
            assert job["attempts"] >= 2, "the killed attempt and the one that finished"
            assert len(job["artifacts"]) == 1
    except BaseException:
        print(services.logs())
        raise
