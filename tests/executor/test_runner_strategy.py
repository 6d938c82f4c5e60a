"""The runner strategy on the real engine: a started container with GNU tar and zstd archives a volume
in one pass into a FIFO the executor reads, from the image the executor makes of its own tools."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from dockback_contracts import events as ev
from dockback_contracts.base import Compression
from dockback_contracts.manifest import ArchiveManifest
from dockback_executor.archive import READ_BYTES, open_decompressed
from dockback_executor.backup import BackupService
from dockback_executor.discovery import changes_inventory
from dockback_executor.errors import DataDirFull
from dockback_executor.runner_image import ensure_runner_tools_image
from dockback_executor.runner_strategy import (
    Fifo,
    PipesPlace,
    RunnerStrategy,
    choose_runner,
    locate_pipes,
    remove_abandoned_fifos,
)
from dockback_executor.settings import Settings
from dockback_runtime.jobs.errors import PermanentError
from executor.conftest import Host, on_small_data_dir, with_stream
from executor.requests import backup_of, restore_of
from executor.test_progress import progress_until
from executor.volumes import create_volume, describe, docker_cli, partial_files, populate, volume_of_random_bytes


@pytest_asyncio.fixture
async def runner_image(host: Host) -> str:
    """The runner image the executor makes from its own tools (imported once, then reused)."""
    return await ensure_runner_tools_image(host.engine)


async def pipes_of(host: Host) -> PipesPlace:
    return await locate_pipes(host.engine, host.store.root, None, None)


async def with_runner(host: Host, image: str) -> BackupService:
    """The host's backup service, archiving volumes with a runner container started from `image`."""
    stream = host.backups
    config = dataclasses.replace(stream.config, runner=RunnerStrategy(host.engine, image, await pipes_of(host)))
    return BackupService(stream.engine, stream.store, stream.locks, stream.stopper, stream.announcer, config)


@pytest_asyncio.fixture
async def runner_backups(host: Host, runner_image: str) -> BackupService:
    return await with_runner(host, runner_image)


def archive_path(host: Host, manifest: ArchiveManifest) -> Path:
    return host.store.directory_for(manifest.resource) / manifest.archive_file


def tar_stream_of(path: Path, compression: Compression) -> bytes:
    """The archive's uncompressed tar stream."""
    with open_decompressed(path, compression) as stream:
        return b"".join(iter(lambda: stream.read(READ_BYTES), b""))


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
async def test_a_runner_archive_restores_through_the_stream_path_to_an_identical_volume(
    host: Host,
    runner_backups: BackupService,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    compression: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=200)

    [manifest] = await runner_backups.run(backup_of("volume", unique_name, compression=compression), attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy"), attempt=1)

    original = await describe(busybox_image, unique_name, docker_labels)
    restored = await describe(busybox_image, f"{unique_name}-copy", docker_labels)
    assert restored == original
    assert b".|directory|750|1234|5678" in original  # the volume root's owner and mode survive too
    assert manifest.strategy == "runner"
    assert manifest.compression == compression


async def test_the_runner_manifest_matches_the_archive_on_disk_and_its_announcement(
    host: Host, runner_backups: BackupService, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=200)

    request = backup_of("volume", unique_name)
    [manifest] = await runner_backups.run(request, attempt=1)

    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    archive = archive_path(host, manifest)
    assert manifest.strategy == "runner"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == manifest.sha256 == created.archive.sha256
    assert archive.stat().st_size == manifest.size_bytes == created.archive.size_bytes
    assert len(tar_stream_of(archive, "zstd")) == manifest.raw_bytes
    assert host.store.manifest_for(archive) == manifest
    assert list(host.store.root.rglob(".partial-*")) == []
    # Its runner is removed (while the archive was sealed) before the backup returns.
    assert (await docker_cli("ps", "-aq", "--filter", f"label=dockback.job={request.job_id}")).split() == []


async def test_the_runner_archive_has_the_entries_of_a_stream_archive_rooted_at_dot(
    host: Host, runner_backups: BackupService, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=200)

    [by_runner] = await runner_backups.run(backup_of("volume", unique_name), attempt=1)
    [by_stream] = await with_stream(host.backups).run(backup_of("volume", unique_name), attempt=1)

    runner_tar = tar_stream_of(archive_path(host, by_runner), "zstd")
    stream_tar = tar_stream_of(archive_path(host, by_stream), "zstd")
    assert runner_tar[:100].rstrip(b"\0") == stream_tar[:100].rstrip(b"\0") == b"./"  # the first entry's name
    with (
        tarfile.open(fileobj=io.BytesIO(runner_tar)) as runner_archive,
        tarfile.open(fileobj=io.BytesIO(stream_tar)) as stream_archive,
    ):
        assert sorted(runner_archive.getnames()) == sorted(stream_archive.getnames())
    assert by_stream.strategy == "stream"
    assert by_runner.file_count == by_stream.file_count > 200


async def assert_nothing_left(host: Host, request: ev.BackupRequested) -> None:
    assert list(host.store.root.rglob(".partial-*")) == []
    assert [p for p in host.store.directory_for(request.resource).iterdir()] == []
    assert list((host.store.root / ".pipes").iterdir()) == []
    runners = await docker_cli("ps", "-aq", "--filter", f"label=dockback.job={request.job_id}")
    assert runners.split() == []
    assert host.heard.of(ev.ArchiveCreated) == []


async def test_a_runner_whose_compressor_fails_fails_the_job_with_its_exit_code_and_leaves_nothing_behind(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    without_zstd = await with_runner(host, busybox_image)
    request = backup_of("volume", unique_name, compression="zstd")

    with pytest.raises(PermanentError, match=rf"(?s)runner for volume '{unique_name}' exited with 127: .*zstd"):
        await without_zstd.run(request, attempt=1)

    await assert_nothing_left(host, request)


async def test_a_runner_whose_tar_fails_fails_the_job_with_tars_reason_and_leaves_nothing_behind(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    busybox_tar = await with_runner(host, busybox_image)  # no GNU tar: it refuses GNU options
    request = backup_of("volume", unique_name, compression="none")

    with pytest.raises(
        PermanentError, match=rf"runner for volume '{unique_name}' exited with 1: tar: unrecognized option"
    ):
        await busybox_tar.run(request, attempt=1)

    await assert_nothing_left(host, request)


async def test_a_runner_that_fills_the_data_dir_fails_the_job_at_once_naming_it_and_leaves_no_partial_file(
    host: Host,
    runner_backups: BackupService,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    small_data_dir: Path,
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=16)
    backups = on_small_data_dir(runner_backups, small_data_dir)

    with pytest.raises(DataDirFull) as failed:
        await backups.run(backup_of("volume", unique_name), attempt=1)

    reason = str(failed.value)
    assert f"data dir {small_data_dir}" in reason
    assert re.search(r"had written \d+(\.\d)? MiB", reason), reason
    assert partial_files(small_data_dir) == []
    assert shutil.disk_usage(small_data_dir).used < 2**20


async def test_a_backup_cancelled_while_its_runner_archives_leaves_no_partial_file_no_fifo_and_no_runner(
    host: Host, runner_backups: BackupService, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    # Incompressible data at zstd's slowest level: the runner works for seconds.
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=48)
    request = backup_of("volume", unique_name, compression_level=19)
    running = asyncio.create_task(runner_backups.run(request, attempt=1))
    async with asyncio.timeout(60):
        while not (await docker_cli("ps", "-q", "--filter", f"label=dockback.job={request.job_id}")).split():  # noqa: ASYNC110 - the engine's state: polled
            await asyncio.sleep(0.05)

    assert not running.done()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    await assert_nothing_left(host, request)


async def test_a_runner_reaches_a_data_dir_on_the_named_volume_the_executors_container_mounts(
    host: Host,
    runner_image: str,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    # As in compose: the executor's data dir /data/backups is on a named volume of its container.
    data_volume = f"{unique_name}-data"
    await create_volume(data_volume, docker_labels)
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=20)
    labels = [f"--label={k}={v}" for k, v in docker_labels.items()]
    executor = (
        (await docker_cli("create", *labels, "-v", f"{data_volume}:/data", busybox_image, "true")).decode().strip()
    )

    place = await locate_pipes(host.engine, Path("/data/backups"), None, executor)

    assert place.mount == {
        "Type": "volume",
        "Source": data_volume,
        "Target": "/dockback-data",
        "ReadOnly": True,  # a runner writes into a FIFO there all the same
        "VolumeOptions": {"NoCopy": True},
    }
    assert str(place.inside) == "/dockback-data/backups/.pipes"
    # The executor's side of that volume, seen from the host these tests run on.
    on_host = Path((await host.engine.volume(data_volume))["Mountpoint"]) / "backups"
    runner = RunnerStrategy(host.engine, runner_image, dataclasses.replace(place, directory=on_host / ".pipes"))
    await runner.check_pipes()  # what the executor checks at start
    backups = on_small_data_dir(host.backups, on_host)
    backups.config = dataclasses.replace(backups.config, runner=runner)

    [manifest] = await backups.run(backup_of("volume", unique_name), attempt=1)

    archive = backups.store.directory_for(manifest.resource) / manifest.archive_file
    assert manifest.strategy == "runner"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == manifest.sha256
    assert manifest.file_count > 20


async def test_auto_archives_with_runners_where_the_engine_is_local_and_the_data_dir_a_host_path(
    host: Host, tmp_path: Path
) -> None:
    settings = Settings(strategy="auto", data_dir=tmp_path)

    chosen = await choose_runner(host.engine, settings, None)

    assert chosen is not None
    assert chosen.image.startswith("dockback/runner-tools:")
    assert chosen.pipes.mount == {
        "Type": "bind",
        "Source": str(tmp_path / ".pipes"),  # pytest gives it resolved
        "Target": "/dockback/.pipes",
        "ReadOnly": True,
    }


async def test_auto_falls_back_to_stream_with_one_log_line_when_the_engine_is_remote(
    host: Host, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(strategy="auto", data_dir=tmp_path, docker_url="tcp://192.0.2.1:2375")

    with caplog.at_level(logging.DEBUG, logger="dockback_executor"):
        chosen = await choose_runner(host.engine, settings, None)

    assert chosen is None
    [said] = [r.getMessage() for r in caplog.records if r.name.startswith("dockback_executor")]
    assert "stream strategy" in said
    assert "not reached through a local socket" in said


async def test_auto_falls_back_to_stream_with_one_log_line_when_the_runner_image_cannot_be_made(
    host: Host, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("sh", "tar", "gzip"):
        (tools / name).symlink_to(shutil.which(name) or f"/missing/{name}")
    monkeypatch.setenv("PATH", str(tools))  # no zstd
    settings = Settings(strategy="auto", data_dir=tmp_path)

    with caplog.at_level(logging.DEBUG, logger="dockback_executor"):
        chosen = await choose_runner(host.engine, settings, None)

    assert chosen is None
    [said] = [r.getMessage() for r in caplog.records if r.name.startswith("dockback_executor")]
    assert "stream strategy" in said
    assert "zstd is not installed" in said


async def test_the_runner_strategy_asked_for_where_it_cannot_work_stops_the_executor_saying_why(
    host: Host, tmp_path: Path
) -> None:
    settings = Settings(strategy="runner", data_dir=tmp_path, docker_url="tcp://192.0.2.1:2375")

    with pytest.raises(SystemExit, match=r"DOCKBACK_STRATEGY=runner cannot work here: .*local socket"):
        await choose_runner(host.engine, settings, None)


async def test_a_runner_image_without_gnu_tar_fails_its_probe(host: Host, busybox_image: str, tmp_path: Path) -> None:
    settings = Settings(strategy="runner", data_dir=tmp_path, runner_image=busybox_image)

    with pytest.raises(SystemExit, match=rf"runner image {re.escape(busybox_image)} failed its probe.*not GNU tar"):
        await choose_runner(host.engine, settings, None)


async def test_a_runner_backup_reports_progress_while_it_archives_and_ends_on_the_exact_figure(
    host: Host, runner_backups: BackupService, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=12)
    expected = (await host.engine.volume_sizes())[unique_name]  # as the host inventory measures it
    request = backup_of("volume", unique_name)

    await runner_backups.run(request, attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    samples = await progress_until(host, request.job_id, created.raw_bytes)

    assert samples[0].bytes_done < created.raw_bytes  # heard while tar's listing came in
    assert samples[0].bytes_total == expected
    assert (samples[-1].bytes_done, samples[-1].bytes_total) == (created.raw_bytes, created.raw_bytes)


async def test_auto_falls_back_to_stream_with_one_log_line_when_runners_cannot_reach_the_data_dir(
    host: Host, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "not-the-data-dir"
    (elsewhere / ".pipes").mkdir(parents=True)  # the mount works, but the executor's FIFO is not there
    settings = Settings(strategy="auto", data_dir=tmp_path / "data", data_dir_source=elsewhere)

    with caplog.at_level(logging.DEBUG, logger="dockback_executor"):
        chosen = await choose_runner(host.engine, settings, None)

    assert chosen is None
    [said] = [r.getMessage() for r in caplog.records if r.name.startswith("dockback_executor")]
    assert f"a runner mounting {elsewhere}/.pipes could not write into the data dir's .pipes" in said
    assert "DOCKBACK_DATA_DIR_SOURCE" in said


async def test_a_runners_own_events_and_the_mounts_of_its_volume_ask_for_no_new_inventory(
    host: Host, runner_backups: BackupService, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    """Each inventory runs the engine's `system df`, which walks every volume on the host: a backup's
    runner mounting the volume must not set one off while it archives that volume."""
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    since = f"{time.time() - 1:.3f}"
    request = backup_of("volume", unique_name)
    await runner_backups.run(request, attempt=1)
    marker = f"{unique_name}-marker"
    await create_volume(marker, docker_labels)  # a change a user makes
    until = f"{time.time() + 1:.3f}"
    lines = await docker_cli(
        "events",
        "--since",
        since,
        "--until",
        until,
        "--filter",
        "type=container",
        "--filter",
        "type=volume",
        "--format",
        "{{json .}}",
    )
    events = [json.loads(line) for line in lines.splitlines() if line.strip()]

    def attributes(event: dict[str, Any]) -> dict[str, str]:
        return dict(event["Actor"].get("Attributes") or {})

    [runner_id] = [
        e["Actor"]["ID"]
        for e in events
        if (e["Type"], e["Action"]) == ("container", "create")
        and attributes(e).get("dockback.job") == str(request.job_id)
    ]
    by_runner = [e for e in events if runner_id in (e["Actor"]["ID"], attributes(e).get("container"))]
    assert {e["Action"] for e in by_runner if e["Type"] == "volume"} >= {"mount", "unmount"}
    assert [e["Action"] for e in by_runner if changes_inventory(e, host.engine.recent_runners)] == []
    [created] = [e for e in events if (e["Type"], e["Action"], e["Actor"]["ID"]) == ("volume", "create", marker)]
    assert changes_inventory(created, host.engine.recent_runners)


def test_fifos_whose_executor_is_gone_are_removed_and_a_live_jobs_fifo_stays(tmp_path: Path) -> None:
    abandoned = tmp_path / "job-of-a-killed-executor.tar"
    os.mkfifo(abandoned, 0o600)
    not_a_fifo = tmp_path / "check-notes"
    not_a_fifo.write_text("left alone")
    live = Fifo(tmp_path / "job-running-now.tar")
    try:
        removed = remove_abandoned_fifos(tmp_path)

        assert removed == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["check-notes", "job-running-now.tar"]
        live.put(b"still works")
    finally:
        live.remove()
    assert remove_abandoned_fifos(tmp_path / "no-such-directory") == 0
