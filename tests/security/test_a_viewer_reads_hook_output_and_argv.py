"""A viewer reads what a hook was given and what it printed: its argv (GET /plans, GET /jobs/{id})
may hold a password, and a failing dump tool prints its connection string and environment.
Through the real gateway and host A's real executor on the secured nats-server: a viewer sees
that the plan has a hook and why the job failed, never the argv nor the output; an operator
sees the output in the job log with its secrets masked; only an admin sees the argv."""

from __future__ import annotations

import json

from executor.volumes import create_volume, docker_cli
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin

from dockback_gateway.users.models import Role
from harness.secured_nats import HOST_A, HostServices
from security.hooks_stack import executor_online, finished_job, gateway_settings  # noqa: F401

SECRET = "canary-db-secret-7f3a"
ARGV_MARK = "argv-canary-91c2"
SCRIPT = (
    f"# {ARGV_MARK}\n"
    'echo "pg_dump: could not connect to postgres://app:$DB_SECRET@db:5432/app"\n'
    'echo "PGPASSWORD=$DB_SECRET pg_dump --password=$DB_SECRET -p $DB_SECRET" >&2\n'
    "exit 3\n"
)


async def test_a_viewer_sees_neither_the_argv_nor_the_output_of_a_failed_hook(
    gateway: Gateway,
    host_services: HostServices,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    volume, database = unique_name, f"{unique_name}-db"
    await create_volume(volume, docker_labels)
    labels = [f"--label={k}={v}" for k, v in docker_labels.items()]
    await docker_cli(
        "run", "-d", "--name", database, *labels, "-e", f"DB_SECRET={SECRET}", "-v", f"{volume}:/data",
        busybox_image, "sleep", "3600",
    )  # fmt: skip
    hook = {"container": database, "command": ["sh", "-c", SCRIPT]}
    async with (
        logged_in_admin(gateway) as admin,
        logged_in_as(gateway, Role.OPERATOR) as operator,
        logged_in_as(gateway, Role.VIEWER) as viewer,
    ):
        await executor_online(admin, host_services)
        created = await admin.post(
            "/plans",
            json={
                "name": "dump first",
                "host_id": HOST_A,
                "targets": [{"kind": "volume", "names": [volume]}],
                "cron": "0 3 * * *",
                "options": {"pre_commands": [hook]},
            },
        )
        assert created.status_code == 201, created.text
        plan = created.json()
        run = await operator.post("/jobs", json={"plan_id": plan["id"]})
        assert run.status_code == 202, run.text
        job = await finished_job(admin, run.json()["id"], host_services)
        assert job["status"] == "failed", job

        # The viewer: that there is a hook, and why the job failed; nothing it was given or printed.
        for role_client in (viewer, operator):
            plans = (await role_client.get("/plans")).json()
            [shown] = [p for p in plans if p["id"] == plan["id"]]
            assert shown["hook_argv_hidden"] is True
            assert len(shown["options"]["pre_commands"]) == 1
            assert shown["options"]["pre_commands"][0]["container"] == database
            assert ARGV_MARK not in json.dumps(plans)
        seen = await viewer.get(f"/jobs/{job['id']}")
        assert "pre-command 1 ('sh' in container" in seen.json()["error"]
        assert "exited with 3" in seen.json()["error"]
        assert SECRET not in seen.text
        assert ARGV_MARK not in seen.text
        assert "could not connect" not in seen.text
        listed = await viewer.get("/jobs", params={"plan_id": plan["id"]})
        assert SECRET not in listed.text
        assert "could not connect" not in listed.text

        # The operator: the output in the job log, its secrets masked.
        seen = await operator.get(f"/jobs/{job['id']}")
        [failed] = [line for line in seen.json()["events"] if line["type"] == "job_failed.v1"]
        assert "could not connect to postgres://***@db:5432/app" in failed["data"]["output"]
        assert "PGPASSWORD=***" in failed["data"]["output"]
        assert SECRET not in seen.text
        assert ARGV_MARK not in seen.text

        # The admin: the argv.
        assert ARGV_MARK in (await admin.get(f"/plans/{plan['id']}")).text
        assert SECRET not in (await admin.get(f"/jobs/{job['id']}")).text
