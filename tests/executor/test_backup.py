"""Backups on the real engine: what goes in comes back out, archives are complete and announced once."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from dockback_contracts import events as ev
from dockback_executor.backup import BindSource
from dockback_executor.errors import DataDirFull, NotAllowed, ResourceMissing
from executor.conftest import Host, on_small_data_dir
from executor.requests import backup_of, restore_of
from executor.volumes import create_volume, describe, docker_cli, partial_files, populate, volume_of_random_bytes


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
async def test_a_volume_with_every_kind_of_entry_round_trips_exactly(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str, compression: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=3000 if compression == "zstd" else 300)

    [manifest] = await host.backups.run(backup_of("volume", unique_name, compression=compression), attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy"), attempt=1)

    original = await describe(busybox_image, unique_name, docker_labels)
    restored = await describe(busybox_image, f"{unique_name}-copy", docker_labels)
    assert restored == original
    assert b"./link-dangling|'./link-dangling' -> 'does-not-exist'" in original
    assert b".|directory|750|1234|5678" in original  # the volume root's owner and mode survive too
    assert manifest.compression == compression
    assert manifest.file_count > (3000 if compression == "zstd" else 300)
    assert created.archive.sha256 == manifest.sha256
    assert created.last_of_job


async def test_the_archive_on_disk_matches_its_manifest_and_announcement(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=10)

    [manifest] = await host.backups.run(backup_of("volume", unique_name), attempt=1)

    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    archive = host.store.root / created.archive.path
    on_disk = json.loads((host.store.root / created.manifest_path).read_text())
    assert archive.stat().st_size == manifest.size_bytes == created.archive.size_bytes
    assert on_disk["sha256"] == manifest.sha256
    assert on_disk["labels"] == docker_labels
    assert on_disk["resource"] == {"kind": "volume", "name": unique_name}
    assert on_disk["raw_bytes"] > on_disk["size_bytes"] > 0
    assert list(host.store.root.rglob(".partial-*")) == []


async def test_a_job_delivered_again_announces_the_same_archive_without_redoing_it(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    request = backup_of("volume", unique_name)

    [first] = await host.backups.run(request, attempt=1)
    [again] = await host.backups.run(request, attempt=2)

    assert again == first
    archives = [p for p in host.store.root.rglob("*.tar.zst")]
    assert len(archives) == 1


async def test_backing_up_a_missing_volume_fails_permanently_with_its_name(host: Host, unique_name: str) -> None:
    with pytest.raises(ResourceMissing, match=unique_name):
        await host.backups.run(backup_of("volume", unique_name), attempt=1)
    assert host.heard.of(ev.ArchiveCreated) == []


async def test_a_container_backup_stores_its_config_and_each_volume_it_mounts(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    for suffix in ("a", "b"):
        await create_volume(f"{unique_name}-{suffix}", docker_labels)
        await populate(busybox_image, f"{unique_name}-{suffix}", docker_labels, small_files=5)
    await docker_cli(
        "create",
        "--name",
        unique_name,
        *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v",
        f"{unique_name}-a:/a",
        "-v",
        f"{unique_name}-b:/b",
        busybox_image,
        "sleep",
        "3600",
    )

    manifests = await host.backups.run(backup_of("container", unique_name), attempt=1)

    assert sorted(m.role for m in manifests) == sorted(["config", f"{unique_name}-a", f"{unique_name}-b"])
    config = next(m for m in manifests if m.kind == "config")
    assert config.source["Name"] == f"/{unique_name}"
    created = await host.heard.wait_for(ev.ArchiveCreated, 3)
    assert len(created) == 3
    assert [c.last_of_job for c in created] == [False, False, True]
    assert len({c.archive.artifact_id for c in created}) == 3


async def test_an_image_is_saved_and_loads_back(host: Host, busybox_image: str, docker_labels: dict[str, str]) -> None:
    tag = f"dockback-test/saved:{uuid.uuid4().hex[:8]}"
    await docker_cli("tag", busybox_image, tag)
    [manifest] = await host.backups.run(backup_of("image", tag), attempt=1)
    await docker_cli("rmi", tag)

    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    await host.restores.run(restore_of(created, "image", tag), attempt=1)

    inspected = json.loads(await docker_cli("image", "inspect", tag))
    assert inspected[0]["RepoTags"] == [tag] or tag in inspected[0]["RepoTags"]
    assert manifest.kind == "image"
    await docker_cli("rmi", tag)


async def test_bind_mounts_are_refused_unless_the_path_is_under_an_allowed_root(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "sub" / "note.txt").write_text("bind-mounted data")
    await docker_cli(
        "create",
        "--name",
        unique_name,
        *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v",
        f"{shared}:/shared",
        busybox_image,
        "sleep",
        "3600",
    )

    with pytest.raises(NotAllowed, match="not under an allowed root"):
        await host.backups.run(backup_of("container", unique_name, include_bind_mounts=True), attempt=1)

    host.backups.config = replace(host.backups.config, allowed_bind_roots=(tmp_path,))
    manifests = await host.backups.run(backup_of("container", unique_name, include_bind_mounts=True), attempt=1)
    bind = next(m for m in manifests if m.kind == "bind")
    assert bind.role == "bind/shared"
    assert bind.file_count == 3  # ./, ./sub, ./sub/note.txt


async def test_a_bind_path_is_placed_under_its_allowed_root_by_its_words_alone(host: Host) -> None:
    backups = host.backups
    backups.config = replace(backups.config, allowed_bind_roots=(Path("/srv/app/"),))
    assert backups._permitted_bind("/srv/app") == BindSource("/srv/app", "")
    assert backups._permitted_bind("/srv/app/data//db/") == BindSource("/srv/app", "data/db")
    for outside in ("/srv/app/../../etc", "/srv/application", "/", "srv/app/data"):
        with pytest.raises(NotAllowed, match="not under an allowed root"):
            backups._permitted_bind(outside)


async def test_without_include_bind_mounts_a_container_backup_leaves_binds_alone(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str, tmp_path: Path
) -> None:
    await docker_cli(
        "create",
        "--name",
        unique_name,
        *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v",
        f"{tmp_path}:/shared",
        busybox_image,
        "sleep",
        "3600",
    )
    manifests = await host.backups.run(backup_of("container", unique_name), attempt=1)
    assert [m.kind for m in manifests] == ["config"]


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
async def test_a_full_data_dir_fails_the_backup_at_once_naming_it_and_leaves_no_partial_file(
    host: Host,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    small_data_dir: Path,
    compression: str,
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=16)
    backups = on_small_data_dir(host.backups, small_data_dir)

    with pytest.raises(DataDirFull) as failed:
        await backups.run(backup_of("volume", unique_name, compression=compression), attempt=1)

    reason = str(failed.value)
    assert not failed.value.retryable
    assert f"data dir {small_data_dir}" in reason
    assert "no space left" in reason.lower()
    assert re.search(r"had written \d+(\.\d)? MiB", reason), reason
    assert partial_files(small_data_dir) == []
    assert shutil.disk_usage(small_data_dir).used < 2**20  # the space is free again
    assert host.heard.of(ev.ArchiveCreated) == []
