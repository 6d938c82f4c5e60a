"""The runner strategy on the real engine: a started container with busybox tar and zstd writes the archive.

No registry is reachable, so the runner image is made here with `docker import`: the host's static busybox
(sh, tar, gzip, cat, ...) and the host's zstd binary with the shared libraries it loads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from dockback_contracts import events as ev
from dockback_contracts.base import Compression
from dockback_contracts.manifest import ArchiveManifest
from dockback_executor.archive import READ_BYTES, open_decompressed
from dockback_executor.backup import BackupService
from dockback_executor.errors import DataDirFull
from dockback_executor.runner_strategy import RunnerStrategy
from dockback_runtime.jobs.errors import PermanentError
from executor.conftest import Host, on_small_data_dir
from executor.requests import backup_of, restore_of
from executor.volumes import create_volume, describe, docker_cli, partial_files, populate, volume_of_random_bytes
from harness.docker_engine import BUSYBOX_APPLETS, SESSION, TEST_LABEL


def _shared_libraries(binary: Path) -> list[PurePosixPath]:
    """The files the dynamic loader maps for `binary`, the loader itself included (not the vDSO)."""
    listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    libraries = []
    for line in listing.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else (words[0] if words else "")
        if path.startswith("/"):
            libraries.append(PurePosixPath(path))
    return libraries


def runner_rootfs_tar(zstd: Path) -> bytes:
    """A root filesystem with busybox and its applet links, and zstd with its libraries at their host paths."""
    buffer = io.BytesIO()
    directories: set[PurePosixPath] = set()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add_directory(path: PurePosixPath) -> None:
            for directory in (*reversed(path.parents[:-1]), path):
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(str(directory))
                    info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory.name == "tmp" else 0o755
                    tar.addfile(info)

        for directory in ("bin", "tmp", "etc", "usr/bin"):
            add_directory(PurePosixPath(directory))
        tar.add("/bin/busybox", "bin/busybox")
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        tar.add(os.path.realpath(zstd), "usr/bin/zstd")
        for library in _shared_libraries(zstd):
            inside = library.relative_to("/")
            add_directory(inside.parent)
            tar.add(os.path.realpath(library), str(inside))  # the file itself, even where the host has a link
    return buffer.getvalue()


@pytest.fixture(scope="session")
def runner_image(docker_engine: str) -> str:
    """An image with sh, tar, gzip and zstd, made locally with `docker import`."""
    if not Path("/bin/busybox").exists():
        pytest.fail("/bin/busybox is missing: install busybox-static (deploy/dev/ensure-docker does).")
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.fail("the zstd binary is missing: install the zstd package (deploy/dev/ensure-docker does).")
    reference = f"dockback-test/runner:{SESSION}"
    subprocess.run(
        [
            "docker",
            "import",
            "--change",
            f"LABEL {TEST_LABEL}={SESSION}",
            "--change",
            "ENV PATH=/bin:/usr/bin",
            "-",
            reference,
        ],
        input=runner_rootfs_tar(Path(zstd)),
        check=True,
        capture_output=True,
    )
    return reference


def with_runner(host: Host, image: str) -> BackupService:
    """The host's backup service, archiving volumes with a runner container started from `image`."""
    stream = host.backups
    config = dataclasses.replace(stream.config, runner=RunnerStrategy(host.engine, image))
    return BackupService(stream.engine, stream.store, stream.locks, stream.stopper, stream.announcer, config)


@pytest.fixture
def runner_backups(host: Host, runner_image: str) -> BackupService:
    return with_runner(host, runner_image)


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

    [manifest] = await runner_backups.run(backup_of("volume", unique_name), attempt=1)

    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    archive = archive_path(host, manifest)
    assert manifest.strategy == "runner"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == manifest.sha256 == created.archive.sha256
    assert archive.stat().st_size == manifest.size_bytes == created.archive.size_bytes
    assert len(tar_stream_of(archive, "zstd")) == manifest.raw_bytes
    assert host.store.manifest_for(archive) == manifest
    assert list(host.store.root.rglob(".partial-*")) == []


async def test_the_runner_archive_has_the_entries_of_a_stream_archive_rooted_at_dot(
    host: Host, runner_backups: BackupService, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=200)

    [by_runner] = await runner_backups.run(backup_of("volume", unique_name), attempt=1)
    [by_stream] = await host.backups.run(backup_of("volume", unique_name), attempt=1)

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


async def test_a_runner_that_exits_non_zero_fails_the_job_with_its_exit_code_and_leaves_nothing_behind(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    without_zstd = with_runner(host, busybox_image)
    request = backup_of("volume", unique_name, compression="zstd")

    with pytest.raises(PermanentError, match=rf"runner for volume '{unique_name}' exited with 127: .*zstd"):
        await without_zstd.run(request, attempt=1)

    assert list(host.store.root.rglob(".partial-*")) == []
    assert [p for p in host.store.directory_for(request.resource).iterdir()] == []
    runners = await docker_cli("ps", "-aq", "--filter", f"label=dockback.job={request.job_id}")
    assert runners.split() == []
    assert host.heard.of(ev.ArchiveCreated) == []


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
