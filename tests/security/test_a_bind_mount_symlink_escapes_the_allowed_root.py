"""A bind mount whose host path lies under an allowed root by its words, but goes through a
symbolic link on the host that leads out of it (to `/`, to another directory): the archive
would hold whatever the link points at. The executor runs, as in its container, without a view
of the host's allowed root (its own mount namespace, an empty tmpfs there), so it cannot
resolve the path itself; it asks the engine, through a runner that mounts the allowed root,
and refuses any symbolic link on the way. Real symbolic links on the host, the real executor
on host A's credentials, the real gateway."""

from __future__ import annotations

import json
from pathlib import Path

from executor.volumes import docker_cli
from gateway.conftest import Gateway, logged_in_admin

from harness.secured_nats import HostServices
from security.hooks_stack import (  # noqa: F401 - gateway_settings is the fixture
    ad_hoc_backup,
    executor_online,
    finished_job,
    gateway_settings,
    start_executor_blind_to,
)

SECRET = b"outside the allowed root: host secret 3b9d\n"


async def _container_binding(name: str, image: str, labels: dict[str, str], source: Path) -> None:
    flags = [f"--label={k}={v}" for k, v in labels.items()]
    await docker_cli("create", "--name", name, *flags, "-v", f"{source}:/data", image, "sleep", "3600")


def _archives_holding_the_secret(data_dir: Path) -> list[Path]:
    found = []
    for path in data_dir.rglob("*"):
        if path.is_file() and SECRET.strip() in path.read_bytes():
            found.append(path)
    return found


async def test_a_symlink_under_the_allowed_root_does_not_lead_a_backup_out_of_it(
    gateway: Gateway,
    host_services: HostServices,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "inner" / "secret.txt").write_bytes(SECRET)
    (allowed / "real").mkdir(parents=True)
    (allowed / "real" / "note.txt").write_text("inside the allowed root")
    (allowed / "escape").symlink_to(outside)  # the bind's own path is a link
    (allowed / "real" / "hop").symlink_to(outside)  # a link on the way to the bind's path
    (allowed / "to-root").symlink_to("/")
    cases = {
        f"{unique_name}-escape": allowed / "escape",
        f"{unique_name}-hop": allowed / "real" / "hop" / "inner",
        f"{unique_name}-root": allowed / "to-root" / "etc",
    }
    for name, source in cases.items():
        await _container_binding(name, busybox_image, docker_labels, source)
    await _container_binding(f"{unique_name}-fine", busybox_image, docker_labels, allowed / "real")

    start_executor_blind_to(host_services, allowed, DOCKBACK_ALLOWED_BIND_ROOTS=json.dumps([str(allowed)]))
    async with logged_in_admin(gateway) as admin:
        await executor_online(admin, host_services, started=True)
        for name, source in cases.items():
            job_id = await ad_hoc_backup(admin, "container", name, include_bind_mounts=True)
            job = await finished_job(admin, job_id, host_services)
            assert job["status"] == "failed", (source, job)
            assert "is a symbolic link on the host" in job["error"], job["error"]
            assert not [a for a in job["artifacts"] if a["role"].startswith("bind")]

        job_id = await ad_hoc_backup(admin, "container", f"{unique_name}-fine", include_bind_mounts=True)
        job = await finished_job(admin, job_id, host_services)
    assert job["status"] == "succeeded", job
    assert [a["role"] for a in job["artifacts"] if a["role"].startswith("bind")] == ["bind/data"]
    assert _archives_holding_the_secret(host_services.workdir / "data") == []
