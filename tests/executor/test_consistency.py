"""Stop-during-backup restarts exactly the containers that ran, whatever happens to the backup."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from dockback_executor.consistency import ContainerStopper, own_container_id
from dockback_executor.errors import HookFailed, HookRefused
from dockback_executor.locks import InstanceLock
from executor.conftest import Host, with_stream
from executor.requests import backup_of
from executor.volumes import create_volume, docker_cli


async def running(name: str) -> bool:
    return bool(json.loads(await docker_cli("inspect", name))[0]["State"]["Running"])


async def started_at(name: str) -> str:
    return str(json.loads(await docker_cli("inspect", name))[0]["State"]["StartedAt"])


async def container(
    name: str, volume: str, image: str, labels: dict[str, str], *, run: bool, extra: tuple[str, ...] = ()
) -> None:
    await docker_cli(
        "create",
        "--name",
        name,
        *[f"--label={k}={v}" for k, v in labels.items()],
        *extra,
        "-v",
        f"{volume}:/data",
        image,
        "sleep",
        "3600",
    )
    if run:
        await docker_cli("start", name)


async def test_containers_using_the_volume_are_stopped_during_the_backup_and_only_running_ones_restarted(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(f"{unique_name}-up", unique_name, busybox_image, docker_labels, run=True)
    await container(f"{unique_name}-down", unique_name, busybox_image, docker_labels, run=False)
    before = await started_at(f"{unique_name}-up")

    await host.backups.run(backup_of("volume", unique_name, stop_containers=True), attempt=1)

    assert await running(f"{unique_name}-up")
    assert await started_at(f"{unique_name}-up") != before  # it really was stopped and started again
    assert not await running(f"{unique_name}-down")
    assert list((host.store.root / ".stopped").glob("*.json")) == []


async def test_labelled_containers_are_stopped_too(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await create_volume(f"{unique_name}-other", docker_labels)
    await container(
        f"{unique_name}-labelled",
        f"{unique_name}-other",
        busybox_image,
        docker_labels,
        run=True,
        extra=("--label", "dockback.stop-during-backup=true"),
    )
    before = await started_at(f"{unique_name}-labelled")

    await host.backups.run(backup_of("volume", unique_name, stop_containers=True), attempt=1)

    assert await running(f"{unique_name}-labelled")
    assert await started_at(f"{unique_name}-labelled") != before


async def test_containers_are_restarted_when_the_archive_fails_midway(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(f"{unique_name}-up", unique_name, busybox_image, docker_labels, run=True)
    real_read_archive = host.engine.read_archive

    def broken_stream(*args: object, **kwargs: object) -> object:
        raise ConnectionResetError("stream broke midway")

    monkeypatch.setattr(host.engine, "read_archive", broken_stream)
    with pytest.raises(ConnectionResetError):
        await with_stream(host.backups).run(backup_of("volume", unique_name, stop_containers=True), attempt=1)
    monkeypatch.setattr(host.engine, "read_archive", real_read_archive)

    assert await running(f"{unique_name}-up")
    assert list(host.store.root.rglob(".partial-*")) == []


async def test_a_crashed_run_left_stopped_containers_restarted_by_repair(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(f"{unique_name}-up", unique_name, busybox_image, docker_labels, run=True)
    container_id = json.loads(await docker_cli("inspect", f"{unique_name}-up"))[0]["Id"]
    # What a killed executor leaves: the record written before stopping, and the container stopped.
    records = host.store.root / ".stopped"
    records.mkdir(parents=True, exist_ok=True)
    (records / "crashed-job.json").write_text(json.dumps({"containers": [container_id]}))
    await docker_cli("stop", "-t", "1", f"{unique_name}-up")

    restarted = await host.stopper.repair()

    assert restarted == [container_id]
    assert await running(f"{unique_name}-up")
    assert list(records.glob("*.json")) == []


async def test_repair_leaves_alone_what_a_live_executor_of_the_host_stopped(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(f"{unique_name}-up", unique_name, busybox_image, docker_labels, run=True)
    container_id = json.loads(await docker_cli("inspect", f"{unique_name}-up"))[0]["Id"]
    locks = host.store.root / ".locks"
    peer = InstanceLock(locks)  # a second executor of the host, alive, in the middle of a backup
    peers_stopper = ContainerStopper(host.engine, host.store.root / ".stopped", 2, locks=locks, instance=peer)
    starting = ContainerStopper(host.engine, host.store.root / ".stopped", 2, locks=locks, instance=InstanceLock(locks))
    try:
        async with peers_stopper.stopped(uuid.uuid4(), await peers_stopper.containers_to_stop([unique_name])) as ids:
            restarted_meanwhile = await starting.repair()  # this executor starting up meanwhile
            running_meanwhile = await running(f"{unique_name}-up")
    finally:
        peer.release()

    assert ids == [container_id]
    assert restarted_meanwhile == []
    assert running_meanwhile is False
    assert await running(f"{unique_name}-up")  # restarted by the peer itself


async def test_repair_restarts_what_an_executor_that_died_left_stopped(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(f"{unique_name}-up", unique_name, busybox_image, docker_labels, run=True)
    container_id = json.loads(await docker_cli("inspect", f"{unique_name}-up"))[0]["Id"]
    locks = host.store.root / ".locks"
    dead = InstanceLock(locks)
    records = host.store.root / ".stopped"
    records.mkdir(parents=True, exist_ok=True)
    (records / "crashed-job.json").write_text(json.dumps({"containers": [container_id], "executor": dead.instance_id}))
    await docker_cli("stop", "-t", "1", f"{unique_name}-up")
    dead.release()  # what the kernel does to the flock of a process that died

    restarted = await ContainerStopper(host.engine, records, 2, locks=locks, instance=InstanceLock(locks)).repair()

    assert restarted == [container_id]
    assert await running(f"{unique_name}-up")


async def test_a_container_two_jobs_stop_is_stopped_by_the_second_after_the_first_restarted_it(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    """Two volumes of one container backed up by two jobs at once: the second job must not take
    the container, stopped by the first, as stopped by its owner (it would archive while the
    first job starts it again)."""
    await create_volume(unique_name, docker_labels)
    await container(f"{unique_name}-db", unique_name, busybox_image, docker_labels, run=True)
    container_id = json.loads(await docker_cli("inspect", f"{unique_name}-db"))[0]["Id"]
    stopper = host.stopper
    candidates = await stopper.containers_to_stop([unique_name])
    second: asyncio.Future[tuple[list[str], bool]] = asyncio.get_running_loop().create_future()
    leave_second = asyncio.Event()

    async def second_job() -> None:
        async with stopper.stopped(uuid.uuid4(), await stopper.containers_to_stop([unique_name])) as ids:
            second.set_result((ids, await running(f"{unique_name}-db")))
            await leave_second.wait()

    async with stopper.stopped(uuid.uuid4(), candidates) as first_ids:
        task = asyncio.create_task(second_job())
        entered_meanwhile, _ = await asyncio.wait([second], timeout=1.0)  # it must not get in while the first holds it
    second_ids, running_in_second = await asyncio.wait_for(second, 30)
    leave_second.set()
    await task

    assert first_ids == [container_id]
    assert not entered_meanwhile
    assert second_ids == [container_id]  # it found it running again and stopped it itself
    assert running_in_second is False
    assert await running(f"{unique_name}-db")


async def test_a_failing_pre_command_with_on_error_fail_fails_the_job_before_anything_is_stopped(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(unique_name, unique_name, busybox_image, docker_labels, run=True)
    before = await started_at(unique_name)
    hook = {"container": unique_name, "command": ["sh", "-c", "echo dump failed >&2; exit 3"]}

    with pytest.raises(HookFailed, match="exited with 3"):
        await host.backups.run(backup_of("volume", unique_name, stop_containers=True, pre_commands=[hook]), attempt=1)

    assert await started_at(unique_name) == before


async def test_a_pre_command_runs_inside_the_container_before_the_archive(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(unique_name, unique_name, busybox_image, docker_labels, run=True)
    hook = {"container": unique_name, "command": ["sh", "-c", "echo dumped > /data/dump.sql"]}

    [manifest] = await host.backups.run(backup_of("volume", unique_name, pre_commands=[hook]), attempt=1)

    assert manifest.file_count == 2  # the root and the dump the hook wrote


def test_the_executor_finds_its_own_container_id_so_no_hook_runs_there(tmp_path: Path) -> None:
    container_id = "4f" * 32
    (tmp_path / "mountinfo").write_text(
        "1 0 0:1 / / rw - overlay overlay rw\n"
        f"2 1 8:1 /var/lib/docker/containers/{container_id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"
    )
    assert own_container_id(tmp_path) == container_id
    assert own_container_id(tmp_path / "not-in-a-container") is None


async def test_a_hook_never_runs_in_the_executors_own_container_even_when_it_is_backed_up(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await container(unique_name, unique_name, busybox_image, {**docker_labels, "dockback.hooks": "true"}, run=True)
    container_id = json.loads(await docker_cli("inspect", unique_name))[0]["Id"]
    host.backups.config = replace(host.backups.config, own_container_id=container_id)
    hook = {"container": unique_name, "command": ["touch", "/data/hook-ran"]}

    with pytest.raises(HookRefused, match="this executor's own container"):
        await host.backups.run(backup_of("volume", unique_name, pre_commands=[hook]), attempt=1)

    assert await docker_cli("exec", unique_name, "ls", "/data") == b""
