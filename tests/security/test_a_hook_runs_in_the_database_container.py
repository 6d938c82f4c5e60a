"""A hook aimed at a container the job does not back up: DockBack's own database (to make someone
admin with `psql`), or any bystander container on the host. The real executor, on host A's own
credentials, refuses to exec there and fails the job naming the rule; the command never runs.
A container the job backs up (it uses the volume) or one labelled `dockback.hooks=true` is fine,
unless it is one of DockBack's own (`dockback.service=<name>`, as deploy/compose.yaml labels
them: its database is `postgres`).
Hooks are an admin's: the attack is by an admin's mistake, or by whoever could get one set."""

from __future__ import annotations

from typing import Any

from executor.volumes import create_volume, docker_cli
from gateway.conftest import Gateway, logged_in_admin

from harness.secured_nats import HostServices
from security.hooks_stack import ad_hoc_backup, executor_online, finished_job, gateway_settings  # noqa: F401

PROOF = "/tmp/hook-ran"


async def _container(name: str, image: str, labels: dict[str, str], volume: str | None = None) -> None:
    mounts = ["-v", f"{volume}:/data"] if volume else []
    flags = [f"--label={k}={v}" for k, v in labels.items()]
    await docker_cli("run", "-d", "--name", name, *flags, *mounts, image, "sleep", "3600")


async def _hook_ran(container: str) -> bool:
    try:
        await docker_cli("exec", container, "ls", PROOF)
    except AssertionError:
        return False
    return True


def _hook(container: str) -> dict[str, Any]:
    return {"container": container, "command": ["touch", PROOF]}


async def test_a_hook_in_dockbacks_own_database_container_is_refused(
    gateway: Gateway,
    host_services: HostServices,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    database, volume = f"{unique_name}-db", f"{unique_name}-pgdata"
    await create_volume(volume, docker_labels)
    await _container(database, busybox_image, {**docker_labels, "dockback.service": "postgres"}, volume)
    async with logged_in_admin(gateway) as admin:
        await executor_online(admin, host_services)
        # Backing up the database's volume is fine; a hook in the database container is not,
        # even though the container uses the volume backed up.
        job_id = await ad_hoc_backup(admin, "volume", volume, pre_commands=[_hook(database)])
        job = await finished_job(admin, job_id, host_services)
    assert job["status"] == "failed", job
    assert "DockBack's own 'postgres' container" in job["error"]
    assert job["artifacts"] == []
    assert not await _hook_ran(database)


async def test_a_hook_in_a_container_the_job_does_not_back_up_is_refused(
    gateway: Gateway,
    host_services: HostServices,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    app, volume, bystander, willing = f"{unique_name}-app", unique_name, f"{unique_name}-other", f"{unique_name}-ok"
    await create_volume(volume, docker_labels)
    await _container(app, busybox_image, docker_labels, volume)
    await _container(bystander, busybox_image, docker_labels)
    await _container(willing, busybox_image, {**docker_labels, "dockback.hooks": "true"})
    async with logged_in_admin(gateway) as admin:
        await executor_online(admin, host_services)
        refused = await ad_hoc_backup(admin, "volume", volume, post_commands=[_hook(bystander)])
        job = await finished_job(admin, refused, host_services)
        assert job["status"] == "failed", job
        assert "does not back it up" in job["error"]
        assert "dockback.hooks=true" in job["error"]
        assert not await _hook_ran(bystander)

        # The containers a hook may run in: one using the volume backed up, one labelled for hooks.
        allowed = await ad_hoc_backup(admin, "volume", volume, pre_commands=[_hook(app), _hook(willing)])
        job = await finished_job(admin, allowed, host_services)
    assert job["status"] == "succeeded", job
    assert await _hook_ran(app)
    assert await _hook_ran(willing)
