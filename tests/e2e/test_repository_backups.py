"""A plan of format `repository`, end to end on the real services and restic: its runs save
snapshots of the volume into the plan's own restic repository on the host (the second reads no
unchanged file again), the catalog records each as a snapshot, retention forgets exactly the one
it drops, a snapshot is browsed a directory at a time, and with the exported recovery sheet alone
plain restic on the host lists what is kept and restores the volume as it was."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import httpx
from executor.volumes import create_volume, describe, docker_cli, populate, run_in
from gateway.conftest import Gateway, logged_in_admin

from dockback_contracts.snapshots import plan_repository
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


async def restore_snapshot(
    client: httpx.AsyncClient, artifact_id: str, volume: str, paths: list[str] | None = None
) -> dict[str, Any]:
    """Preview and confirm the restore of a snapshot (or `paths` of it) into the new `volume`; the job once ended."""
    body: dict[str, Any] = {"artifact_id": artifact_id, "target": {"kind": "volume", "name": volume}}
    if paths:
        body["paths"] = paths
    preview = await client.post("/restores/preview", json=body)
    assert preview.status_code == 200, preview.text
    assert not preview.json()["overwrites"]
    confirmed = await client.post("/restores", json={"token": preview.json()["token"]})
    assert confirmed.status_code == 202, confirmed.text
    job_id = confirmed.json()["job_id"]

    async def ended() -> dict[str, Any] | None:
        job = (await client.get(f"/jobs/{job_id}")).json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return dict(await eventually(ended, timeout=90, interval=0.3))


async def expect_downloads(client: httpx.AsyncClient, snapshot: dict[str, Any], multi_sha: str) -> None:
    url = f"/artifacts/{snapshot['id']}/download"
    digest = hashlib.sha256()
    async with client.stream("GET", url, params={"path": "/multi-chunk.bin"}) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["content-length"] == "1234567"
        assert streamed.headers["content-disposition"] == (
            "attachment; filename=\"multi-chunk.bin\"; filename*=UTF-8''multi-chunk.bin"
        )
        async for chunk in streamed.aiter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == multi_sha
    several = await client.get(url, params={"path": ["/regular.txt", "/nested"]})
    assert several.status_code == 200, several.text
    assert several.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(several.content)) as tar:
        assert sorted(tar.getnames())[:3] == [
            f"{snapshot['role']}/nested",
            f"{snapshot['role']}/nested/deeper",
            f"{snapshot['role']}/nested/deeper/deepest",
        ]
        assert tar.extractfile(f"{snapshot['role']}/regular.txt").read() == b"plain text\n"  # type: ignore[union-attr]
    missing = await client.get(url, params={"path": "/not-there"})
    assert missing.status_code == 503
    assert "holds no /not-there" in missing.json()["detail"]
    assert (await client.get(url, params={"path": "/../../etc/shadow"})).status_code == 422
    audit = (await client.get("/audit", params={"action": "artifact.download"})).json()["entries"]
    assert [a["details"]["paths"] for a in audit[:2]] == [["/regular.txt", "/nested"], ["/multi-chunk.bin"]]


def from_sheet(text: str, data_dir: Path) -> dict[str, str]:
    """What a person reads off a recovery sheet: the repository (under their data dir) and its password."""
    [location] = re.findall(r"^Repository:\s+<data dir>/(\S+)$", text, re.MULTILINE)
    [password] = re.findall(r"^  export RESTIC_PASSWORD='([^']+)'$", text, re.MULTILINE)
    return {"RESTIC_REPOSITORY": str(data_dir / location), "RESTIC_PASSWORD": password}


async def restic(environment: dict[str, str], *argv: str) -> bytes:
    """Plain restic on the host, nothing of DockBack's."""
    process = await asyncio.create_subprocess_exec(
        "restic", *argv, env={"PATH": os.environ["PATH"], **environment}, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, argv
    return out


async def test_a_repository_plan_saves_incremental_snapshots_the_catalog_records(
    gateway: Gateway,
    services: Services,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=100)
    # downloaded in three chunks, the last one short
    multi = "head -c 1234567 /dev/urandom > /data/multi-chunk.bin && sha256sum < /data/multi-chunk.bin"
    multi_sha = (await run_in(busybox_image, unique_name, multi, docker_labels)).split()[0].decode()
    original = await describe(busybox_image, unique_name, docker_labels)
    # 3 MiB only the first snapshot holds: gone from the repository once it is forgotten and pruned
    await run_in(busybox_image, unique_name, "head -c 3145728 /dev/urandom > /data/passing.bin", docker_labels)
    services.start("executor", "dockback_executor", DOCKBACK_REPOSITORY_PRUNE_INTERVAL_SECONDS="0")
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
                    "retention": {"keep_last": 1, "keep_minimum": 1},
                    # the volume holds a setuid file, restored from a snapshot only when the plan says so
                    "restore_special_bits": True,
                },
            )
            assert created.status_code == 201, created.text
            plan = created.json()

            first = await run_plan(client, plan["id"])
            await run_in(busybox_image, unique_name, "rm /data/passing.bin", docker_labels)
            second = await run_plan(client, plan["id"])

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
            assert two["size_bytes"] < one["size_bytes"]  # the second added (almost) nothing
            log = [line["message"] for line in (await client.get(f"/jobs/{second['id']}")).json()["events"]]
            assert any("0 new, 0 changed" in line and "unchanged files" in line for line in log), log
            assert one["raw_bytes"] - two["raw_bytes"] == 3145728

            # what removes an archive file is never sent a snapshot: refused, saying why
            assert (await client.delete(f"/artifacts/{two['id']}")).status_code == 422

            # browsing the snapshot, a directory at a time, as its host lists it
            top = await client.get(f"/artifacts/{two['id']}/tree")
            assert top.status_code == 200, top.text
            entries = {e["name"]: e for e in top.json()["entries"]}
            assert {"regular.txt", "many", "nested", "link-relative", "a-fifo"} <= set(entries)
            assert (entries["regular.txt"]["type"], entries["regular.txt"]["size"]) == ("file", len("plain text\n"))
            assert (entries["many"]["type"], entries["owned-by-1000"]["uid"]) == ("dir", 1000)
            nested = await client.get(f"/artifacts/{two['id']}/tree", params={"path": "/nested/deeper"})
            assert [e["path"] for e in nested.json()["entries"]] == ["/nested/deeper/deepest"]
            escape = await client.get(f"/artifacts/{two['id']}/tree", params={"path": "/../../etc"})
            assert escape.status_code == 422, escape.text

            # downloaded through the gateway as the host streams it: one file as it is, several as a tar
            await expect_downloads(client, two, multi_sha)

            # retention keeps the newest snapshot and has the host forget the other, as a prune job
            async def first_forgotten() -> dict[str, Any] | None:
                listed = (await client.get("/artifacts", params={"plan_id": plan["id"]})).json()["items"]
                [first] = [a for a in listed if a["id"] == one["id"]]
                return first if first["state"] == "pruned" else None

            await eventually(first_forgotten, timeout=60, interval=0.3)
            forgets = [j for j in (await client.get("/jobs", params={"kind": "prune"})).json()["items"]]
            assert [j["status"] for j in forgets if j["plan_id"] == plan["id"]] == ["succeeded"]

            # restored by DockBack into new volumes: one directory alone, then all of it
            parts = await restore_snapshot(client, two["id"], f"{unique_name}-part", ["/nested/deeper"])
            assert parts["status"] == "succeeded", parts
            listing = await run_in(busybox_image, f"{unique_name}-part", "cd /data && find . | sort", docker_labels)
            expected = [".", "./nested", "./nested/deeper", "./nested/deeper/deepest", "./nested/deeper/deepest/file"]
            assert listing.split() == [line.encode() for line in expected]
            whole = await restore_snapshot(client, two["id"], f"{unique_name}-whole")
            assert whole["status"] == "succeeded", whole
            assert await describe(busybox_image, f"{unique_name}-whole", docker_labels) == original
            original_target = {"kind": "volume", "name": unique_name, "replace_existing": True, "allow_stop": True}
            into_original = await client.post(
                "/restores/preview", json={"artifact_id": two["id"], "target": original_target}
            )
            assert into_original.status_code == 422, into_original.text
            assert "restored into a new volume" in into_original.text

            # the recovery sheet alone: plain restic on the host sees what is kept, tagged, and restores the volume
            sheet = await client.post(f"/repositories/{HOST_ID}/{repository}/recovery-sheet")
            assert sheet.status_code == 200, sheet.text
            environment = from_sheet(sheet.json()["text"], services.data_dir)
            snapshots = json.loads(await restic(environment, "snapshots", "--json", "--no-lock"))
            assert [s["id"] for s in snapshots] == [two["snapshot_id"]]
            # and the forgotten snapshot's own data was pruned (the interval is 0 here)
            pruned = services.data_dir / "repositories" / f".{repository}.pruned"
            await eventually(lambda: asyncio.to_thread(pruned.exists), timeout=60, interval=0.3)
            stats = json.loads(await restic(environment, "stats", "--json", "--no-lock", "--mode", "raw-data"))
            assert stats["total_size"] < 2621440, stats  # the 3 MiB went; the rest (1.2 MiB random) is smaller
            assert all(s["hostname"] == HOST_ID for s in snapshots)
            assert all(s["paths"] == [f"/volumes/{unique_name}"] for s in snapshots)
            assert all(f"plan={plan['id']}" in s["tags"] and f"role={unique_name}" in s["tags"] for s in snapshots)
            restored = tmp_path / "restored"
            await restic(environment, "restore", two["snapshot_id"], "--target", str(restored))
            assert await describe(busybox_image, str(restored / "volumes" / unique_name), docker_labels) == original
    except BaseException:
        print(services.logs())
        raise
    finally:
        await docker_cli("volume", "rm", "-f", f"{unique_name}-part", f"{unique_name}-whole")


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
