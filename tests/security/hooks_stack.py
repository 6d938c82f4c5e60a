"""The whole path a hook takes, for the hook attacks: the in-process gateway and host A's executor
on the secured nats-server (each on its own generated credentials), the local dockerd, and the
users of every role. Import `gateway_settings` into a test module to put its gateway there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway.conftest import Gateway, settings_for

from dockback_contracts import permissions
from dockback_gateway.config import Settings
from harness.eventually import eventually
from harness.secured_nats import HOST_A, HostServices, SecuredNats


@pytest.fixture
def gateway_settings(database_url: str, secured_nats: SecuredNats, tmp_path: Path) -> Settings:
    """The in-process gateway on the secured server, as the `gateway` user."""
    return settings_for(
        database_url,
        secured_nats.url,
        tmp_path,
        nats_credentials_file=secured_nats.credentials_file(permissions.GATEWAY),
        reconcile_interval_seconds=1.0,
        progress_write_seconds=0.5,
    )


async def executor_online(
    client: httpx.AsyncClient, host_services: HostServices, *, started: bool = False, **env: str
) -> None:
    """Start host A's executor on its own credentials (unless `started`) and wait until the gateway
    sees the host online."""
    if not started:
        host_services.start("executor", "dockback_executor", f"executor-{HOST_A}", **env)

    async def online() -> bool:
        hosts = (await client.get("/resources/hosts")).json()
        items = hosts["items"] if isinstance(hosts, dict) else hosts
        return any(h["host_id"] == HOST_A and h["online"] for h in items)

    try:
        await eventually(online, timeout=60)
    except AssertionError:
        raise AssertionError(host_services.logs()) from None


async def finished_job(client: httpx.AsyncClient, job_id: str, host_services: HostServices) -> dict[str, Any]:
    """The job once it has ended, as the client's role sees it."""

    async def ended() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(f"/jobs/{job_id}")).json()
        return job if job["finished"] else None

    try:
        return await eventually(ended, timeout=120, interval=0.3)
    except AssertionError:
        raise AssertionError(host_services.logs()) from None


async def ad_hoc_backup(client: httpx.AsyncClient, kind: str, name: str, **options: Any) -> str:
    """Queue an ad-hoc backup on host A; returns the job id."""
    run = await client.post(
        "/jobs", json={"host_id": HOST_A, "resource": {"kind": kind, "name": name}, "options": options}
    )
    assert run.status_code == 202, run.text
    return str(run.json()["id"])


def start_executor_blind_to(host_services: HostServices, hidden: Path, **env: str) -> None:
    """Start host A's executor in its own mount namespace, where `hidden` is an empty tmpfs: as
    in its container in production, it cannot see what the host has there (dockerd can)."""
    log = open(host_services.workdir / "executor.log", "ab")  # noqa: SIM115 - closed with the process
    script = 'mount -t tmpfs dockback-test "$0" && exec "$@"'
    host_services.processes["executor"] = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            str(hidden),
            sys.executable,
            "-m",
            "dockback_executor",
        ],
        env={
            **os.environ,
            "DOCKBACK_NATS_URL": host_services.server.url,
            "DOCKBACK_NATS_CREDENTIALS_FILE": str(host_services.server.credentials_file(f"executor-{HOST_A}")),
            "DOCKBACK_HOST_ID": HOST_A,
            "DOCKBACK_DATA_DIR": str(host_services.workdir / "data"),
            "DOCKBACK_SETTINGS_KEY_FILE": str(host_services.workdir / "settings.key"),
            "DOCKBACK_JOB_ACK_WAIT_SECONDS": "3",
            "DOCKBACK_HEARTBEAT_INTERVAL_SECONDS": "1",
            "DOCKBACK_STOP_TIMEOUT_SECONDS": "1",
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )


__all__ = ["Gateway", "ad_hoc_backup", "executor_online", "finished_job", "gateway_settings", "start_executor_blind_to"]
