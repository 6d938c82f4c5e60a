"""The executor as a process on real NATS and Docker: jobs arrive, survive crashes and shutdowns."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import uuid
from pathlib import Path

from faststream.nats import NatsBroker

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from executor.conftest import HOST_ID, Heard, Host, StartExecutor
from executor.crafted_archives import restore_of_a_file_name_too_long
from executor.requests import backup_of
from executor.volumes import create_volume, docker_cli, partial_files, run_in, volume_of_random_bytes
from harness.bus import publish

Start = StartExecutor


async def test_a_requested_backup_is_archived_and_announced_and_the_host_reports_its_inventory(
    nats_url: str,
    heard: Heard,
    start_executor: Start,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    start_executor()
    request = backup_of("volume", unique_name)
    await publish(nats_url, request)

    [created] = await heard.wait_for(ev.ArchiveCreated)
    inventory = (await heard.wait_for(ev.HostInventory))[-1]
    await heard.wait_for(ev.HostHeartbeat)

    assert created.job_id == request.job_id
    assert [s.job_id for s in heard.of(ev.JobStarted)] == [request.job_id]
    assert any(v.name == unique_name and v.labels == docker_labels for v in inventory.volumes)


async def test_an_executor_started_with_strategy_auto_archives_volumes_with_runners_in_one_pass(
    nats_url: str,
    heard: Heard,
    start_executor: Start,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=4)
    start_executor(DOCKBACK_STRATEGY="auto")
    await publish(nats_url, backup_of("volume", unique_name))

    [created] = await heard.wait_for(ev.ArchiveCreated)

    data_dir = tmp_path / "data"
    manifest = json.loads((data_dir / created.manifest_path).read_text())
    archive = (data_dir / created.archive.path).read_bytes()
    assert manifest["strategy"] == "runner"
    assert hashlib.sha256(archive).hexdigest() == created.archive.sha256 == manifest["sha256"]
    assert len(archive) == created.archive.size_bytes


async def test_a_volume_created_after_start_appears_in_a_new_inventory_promptly(
    heard: Heard, start_executor: Start, docker_labels: dict[str, str], unique_name: str
) -> None:
    start_executor()
    await heard.wait_for(ev.HostInventory)
    await create_volume(unique_name, docker_labels)

    async with asyncio.timeout(30):  # far below the 300 s inventory period: the engine's event triggered it
        while not any(v.name == unique_name for v in heard.of(ev.HostInventory)[-1].volumes):
            await heard.wait_for(ev.HostInventory, count=len(heard.of(ev.HostInventory)) + 1)


async def test_a_backup_of_a_missing_volume_ends_in_job_failed_and_is_not_retried(
    nats_url: str, heard: Heard, start_executor: Start, unique_name: str
) -> None:
    start_executor()
    request = backup_of("volume", unique_name)
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed)

    assert failed.job_id == request.job_id
    assert not failed.retryable
    assert unique_name in failed.reason
    assert failed.phase == "archive"


async def test_a_malformed_request_is_rejected_and_the_consumer_goes_on(
    nats_url: str,
    heard: Heard,
    start_executor: Start,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    start_executor()
    broker = NatsBroker(nats_url)
    await broker.start()
    await broker.publish(
        b'{"type": "backup_requested.v1", "job_id": "not-a-uuid"}',
        subjects.request(ev.BackupRequested, HOST_ID),
        stream=streams.JOBS_STREAM,
    )
    await broker.stop()
    await publish(nats_url, backup_of("volume", unique_name))

    [created] = await heard.wait_for(ev.ArchiveCreated)
    assert created.resource.name == unique_name


async def test_an_executor_killed_mid_archive_has_the_job_completed_by_the_next_one(
    nats_url: str,
    heard: Heard,
    start_executor: Start,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await run_in(
        busybox_image, unique_name, "dd if=/dev/urandom of=/data/big bs=1M count=150 2>/dev/null", docker_labels
    )
    victim = start_executor()
    request = backup_of("volume", unique_name, compression="gzip")  # gzip is slow: plenty of time to kill it
    await publish(nats_url, request)
    await heard.wait_for(ev.JobProgress)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    partial_after_kill = list((tmp_path / "data").rglob(".partial-*"))
    assert heard.of(ev.ArchiveCreated) == []

    start_executor()
    [created] = await heard.wait_for(ev.ArchiveCreated, within=120)

    assert created.job_id == request.job_id
    assert partial_after_kill  # it really was killed mid-archive
    assert list((tmp_path / "data").rglob(".partial-*")) == []
    archive = tmp_path / "data" / created.archive.path
    assert archive.stat().st_size == created.archive.size_bytes
    assert len([p for p in (tmp_path / "data").rglob("*.tar.gz")]) == 1
    runners = await docker_cli("ps", "-aq", "--filter", f"label=dockback.data-dir={(tmp_path / 'data').resolve()}")
    assert runners.split() == []  # the killed executor's runner was removed by its successor


async def test_a_starting_executor_leaves_another_installations_runner_whose_data_dir_has_the_same_path(
    heard: Heard, start_executor: Start, busybox_image: str, docker_labels: dict[str, str], tmp_path: Path
) -> None:
    """Two compose projects on one engine: both data dirs are /data/backups inside their own
    containers, and neither executor holds the other's instance locks."""
    data_dir = (tmp_path / "data").resolve()
    theirs = await docker_cli(
        "create",
        *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "--label=dockback.runner=1",
        f"--label=dockback.data-dir={data_dir}",
        "--label=dockback.installation=another-installation",
        "--label=dockback.executor=their-live-instance",
        busybox_image,
        "true",
    )
    start_executor()
    await heard.wait_for(ev.HostHeartbeat)  # past its start, where it removes its own left-overs

    assert (await docker_cli("ps", "-aq", "--filter", f"id={theirs.strip()}")).strip() != ""
    ours = (data_dir / ".installation-id").read_text().strip()
    assert ours
    assert ours != "another-installation"


async def test_sigterm_mid_job_restarts_the_containers_it_stopped(
    nats_url: str,
    heard: Heard,
    start_executor: Start,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    await run_in(
        busybox_image, unique_name, "dd if=/dev/urandom of=/data/big bs=1M count=150 2>/dev/null", docker_labels
    )
    await docker_cli(
        "run",
        "-d",
        "--name",
        unique_name,
        *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v",
        f"{unique_name}:/data",
        busybox_image,
        "sleep",
        "3600",
    )
    executor = start_executor(DOCKBACK_SHUTDOWN_GRACE_SECONDS="0")  # cancel the job at once, mid-archive
    await publish(nats_url, backup_of("volume", unique_name, compression="gzip", stop_containers=True))
    await heard.wait_for(ev.JobProgress)
    assert not json.loads(await docker_cli("inspect", unique_name))[0]["State"]["Running"]

    executor.send_signal(signal.SIGTERM)
    assert executor.wait(60) == 0

    assert json.loads(await docker_cli("inspect", unique_name))[0]["State"]["Running"]
    assert heard.of(ev.ArchiveCreated) == []  # it was cut short, and nothing incomplete was announced


async def archived_by_the_executor(
    nats_url: str, heard: Heard, start_executor: Start, labels: dict[str, str], volume: str
) -> ev.ArchiveCreated:
    await create_volume(volume, labels)
    start_executor()
    await publish(nats_url, backup_of("volume", volume))
    [created] = await heard.wait_for(ev.ArchiveCreated)
    return created


def verify_of(created: ev.ArchiveCreated) -> ev.VerifyRequested:
    return ev.VerifyRequested(job_id=uuid.uuid4(), host_id=HOST_ID, archive=created.archive)


async def test_a_verified_archive_is_announced_as_verified(
    nats_url: str, heard: Heard, start_executor: Start, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await archived_by_the_executor(nats_url, heard, start_executor, docker_labels, unique_name)
    request = verify_of(created)
    await publish(nats_url, request)

    [verified] = await heard.wait_for(ev.ArchiveVerified)

    assert verified.job_id == request.job_id
    assert verified.artifact_id == created.archive.artifact_id
    assert verified.sha256 == created.archive.sha256
    assert heard.of(ev.JobFailed) == []


async def test_a_corrupt_archive_fails_verification_naming_the_expected_and_actual_checksums(
    nats_url: str, heard: Heard, start_executor: Start, docker_labels: dict[str, str], unique_name: str, tmp_path: Path
) -> None:
    created = await archived_by_the_executor(nats_url, heard, start_executor, docker_labels, unique_name)
    archive = tmp_path / "data" / created.archive.path
    with archive.open("r+b") as f:
        f.seek(created.archive.size_bytes // 2)
        f.write(b"\xff" * 8)
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    request = verify_of(created)
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed)

    assert failed.job_id == request.job_id
    assert (failed.kind, failed.phase, failed.retryable) == ("verify", "verify", False)
    assert f"its sha256 is {actual}, expected {created.archive.sha256}" in failed.reason
    assert "restored" not in failed.reason  # a verification restores nothing, and says nothing about it
    assert heard.of(ev.ArchiveVerified) == []


async def test_a_truncated_archive_fails_verification_saying_it_is_truncated(
    nats_url: str, heard: Heard, start_executor: Start, docker_labels: dict[str, str], unique_name: str, tmp_path: Path
) -> None:
    created = await archived_by_the_executor(nats_url, heard, start_executor, docker_labels, unique_name)
    archive = tmp_path / "data" / created.archive.path
    os.truncate(archive, created.archive.size_bytes // 2)
    await publish(nats_url, verify_of(created))

    [failed] = await heard.wait_for(ev.JobFailed)

    assert (failed.kind, failed.phase, failed.retryable) == ("verify", "verify", False)
    assert f"truncated: {created.archive.size_bytes // 2} bytes of {created.archive.size_bytes}" in failed.reason
    assert heard.of(ev.ArchiveVerified) == []


async def test_a_restore_the_engine_cannot_write_fails_once_with_the_engines_reason_and_is_not_retried(
    nats_url: str, heard: Heard, start_executor: Start, host: Host, unique_name: str
) -> None:
    start_executor(DOCKBACK_JOB_RETRY_DELAYS_SECONDS="[0.1, 0.1, 0.1]")  # a retry would come at once
    request = restore_of_a_file_name_too_long(host, unique_name)
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed)

    assert failed.job_id == request.job_id
    assert not failed.retryable
    assert "file name too long" in failed.reason
    assert "(4000 characters)" in failed.reason  # the engine's reason, with the name shortened
    assert len(failed.reason) < 1000
    assert [s.attempt for s in heard.of(ev.JobStarted)] == [1]


async def test_a_backup_that_fills_the_data_dir_fails_once_naming_it_and_leaves_the_space_free(
    small_data_dir: Path,  # first: unmounted after the executor using it has stopped
    nats_url: str,
    heard: Heard,
    start_executor: Start,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=16)
    start_executor(DOCKBACK_DATA_DIR=str(small_data_dir), DOCKBACK_JOB_RETRY_DELAYS_SECONDS="[0.1, 0.1, 0.1]")
    request = backup_of("volume", unique_name)
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed)

    assert failed.job_id == request.job_id
    assert not failed.retryable
    assert f"no space left on device on the filesystem of the data dir {small_data_dir}" in failed.reason
    assert [s.attempt for s in heard.of(ev.JobStarted)] == [1]
    assert partial_files(small_data_dir) == []
    assert shutil.disk_usage(small_data_dir).used < 2**20
    assert b"raised unexpectedly" not in (tmp_path / "executor-0.log").read_bytes()
