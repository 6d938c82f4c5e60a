"""What the executor tells a restore preview about its host, read from the real engine when asked:
the named volumes with every container that mounts them now (running or not, DockBack's runner
containers left out), the named containers and images; a name that does not exist is left out;
an engine that cannot be read is said in the answer."""

from __future__ import annotations

from pathlib import Path

from dockback_contracts.control import TargetUsersQuery
from dockback_executor.docker_api import DockerEngine
from dockback_executor.target_users import target_users
from executor.conftest import HOST_ID
from executor.volumes import create_volume, docker_cli


async def test_a_volume_is_listed_with_every_container_that_mounts_it_now(
    engine: DockerEngine, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    volume, elsewhere = unique_name, f"{unique_name}-elsewhere"
    labels = [f"--label={k}={v}" for k, v in docker_labels.items()]
    await create_volume(volume, docker_labels)
    await create_volume(elsewhere, docker_labels)
    await docker_cli(
        "run", "-d", "--name", f"{volume}-app", *labels, "-v", f"{volume}:/data", busybox_image, "sleep", "3600"
    )
    await docker_cli("create", "--name", f"{volume}-idle", *labels, "-v", f"{volume}:/data:ro", busybox_image, "true")
    await docker_cli("create", "--name", f"{volume}-other", *labels, "-v", f"{elsewhere}:/data", busybox_image)
    runner = await engine.create_runner(volume, read_only=True, labels=docker_labels)
    try:
        answer = await target_users(
            engine,
            HOST_ID,
            TargetUsersQuery(
                volumes=(volume, f"{volume}-missing"),
                containers=(f"{volume}-app", f"{volume}-gone"),
                images=(busybox_image, f"{unique_name}:missing"),
            ),
        )
    finally:
        await engine.remove_container(runner, force=True)

    assert answer.host_id == HOST_ID
    assert answer.problem is None
    assert [v.name for v in answer.volumes] == [volume]
    assert sorted((u.container_name, u.running) for u in answer.volumes[0].used_by) == [
        (f"{volume}-app", True),
        (f"{volume}-idle", False),
    ]
    assert [(c.name, c.state) for c in answer.containers] == [(f"{volume}-app", "running")]
    assert [(m.type, m.source, m.destination) for m in answer.containers[0].mounts] == [("volume", volume, "/data")]
    assert [busybox_image in i.tags for i in answer.images] == [True]


async def test_an_engine_that_cannot_be_read_is_said_in_the_answer(docker_engine: str, tmp_path: Path) -> None:
    unreachable = DockerEngine(f"unix://{tmp_path}/no-engine.sock")
    try:
        answer = await target_users(unreachable, HOST_ID, TargetUsersQuery(volumes=("data",)))
    finally:
        await unreachable.close()
    assert answer.volumes == ()
    assert answer.problem is not None
    assert "Cannot connect to Docker Engine" in answer.problem
