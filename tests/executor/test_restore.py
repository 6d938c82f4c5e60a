"""Restores on the real engine: verified before writing, refused when not allowed, safe from hostile archives."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from dockback_contracts import events as ev
from dockback_contracts.storage import VolumeStorage
from dockback_executor.errors import ChecksumMismatch, EngineFailed, RestoreRefused
from dockback_executor.tar_inspect import ArchiveLimits
from dockback_runtime.jobs.errors import PermanentError
from executor.conftest import HOST_ID, Host
from executor.crafted_archives import (
    place_archive,
    place_tar,
    restore_into_image,
    restore_into_new_volume,
    restore_of_a_file_name_too_long,
    tar_entry,
)
from executor.requests import backup_of, restore_of
from executor.volumes import create_volume, describe, docker_cli, populate, run_in, volume_exists


async def backed_up(host: Host, image: str, labels: dict[str, str], name: str) -> ev.ArchiveCreated:
    await create_volume(name, labels)
    await populate(image, name, labels, small_files=20)
    before = len(host.heard.of(ev.ArchiveCreated))
    await host.backups.run(backup_of("volume", name), attempt=1)
    # Published before run() returns, heard through a subscription a moment later.
    return (await host.heard.wait_for(ev.ArchiveCreated, before + 1))[-1]


async def test_a_restore_onto_a_volume_in_use_without_permission_is_refused_and_changes_nothing(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
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
    await docker_cli("exec", unique_name, "sh", "-c", "echo changed-after-backup > /data/regular.txt")
    before = await describe(busybox_image, unique_name, docker_labels)

    with pytest.raises(RestoreRefused, match=unique_name):
        await host.restores.run(restore_of(created, "volume", unique_name, replace_existing=True), attempt=1)

    assert await describe(busybox_image, unique_name, docker_labels) == before
    state = json.loads(await docker_cli("inspect", unique_name))[0]["State"]
    assert state["Running"]


async def test_a_restore_with_permission_replaces_the_data_and_restarts_the_containers(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    backed_up_state = await describe(busybox_image, unique_name, docker_labels)
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
    await docker_cli("exec", unique_name, "sh", "-c", "echo changed > /data/regular.txt; rm -r /data/many")

    completed = await host.restores.run(
        restore_of(created, "volume", unique_name, replace_existing=True, allow_stop=True), attempt=1
    )

    assert await describe(busybox_image, unique_name, docker_labels) == backed_up_state
    inspected = json.loads(await docker_cli("inspect", unique_name))[0]
    assert inspected["State"]["Running"]
    assert inspected["Mounts"][0]["Name"] == unique_name
    assert completed.replaced_existing
    assert completed.restarted_containers == (unique_name,)
    volume = json.loads(await docker_cli("volume", "inspect", unique_name))[0]
    assert volume["Labels"] == docker_labels  # the replaced volume keeps its labels
    assert not await volume_exists(f"{unique_name}-restore-{str(completed.job_id)[:8]}")


async def test_a_restore_onto_an_existing_volume_needs_replace_existing(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    # in words for the wizard's control ("choose Original"), not the API's flag
    with pytest.raises(RestoreRefused, match="already exists; restore to a new name, or choose Original"):
        await host.restores.run(restore_of(created, "volume", unique_name), attempt=1)


async def test_a_corrupt_archive_is_refused_before_anything_is_written(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    archive = host.store.root / created.archive.path
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatch, match="corrupt"):
        await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy"), attempt=1)
    assert not await volume_exists(f"{unique_name}-copy")


HOSTILE: dict[str, Callable[[], list[tuple[tarfile.TarInfo, bytes]]]] = {
    "absolute path": lambda: [tar_entry("/etc/evil", size=1)],
    "dot-dot component": lambda: [tar_entry("./a/../../evil", size=1)],
    "symlink out of the target": lambda: [tar_entry("./escape", type=tarfile.SYMTYPE, linkname="../../../etc")],
    "hard link out of the target": lambda: [tar_entry("./hl", type=tarfile.LNKTYPE, linkname="../../etc/passwd")],
    "character device": lambda: [tar_entry("./dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)],
    "block device": lambda: [tar_entry("./blk", type=tarfile.BLKTYPE, devmajor=8, devminor=0)],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_a_hostile_archive_is_refused_and_writes_nothing(
    host: Host, docker_labels: dict[str, str], unique_name: str, kind: str
) -> None:
    archive = place_archive(host, HOSTILE[kind](), unique_name)
    request = restore_into_new_volume(archive, unique_name)

    with pytest.raises(PermanentError, match="refused"):
        await host.restores.run(request, attempt=1)
    assert not await volume_exists(unique_name)


async def test_an_archive_past_the_entry_limit_is_refused(host: Host, unique_name: str) -> None:
    host.verifier.limits = ArchiveLimits(max_entries=5)
    archive = place_archive(host, [tar_entry(f"./f{i}", size=1) for i in range(10)], unique_name)
    request = restore_into_new_volume(archive, unique_name)
    with pytest.raises(PermanentError, match="refused"):
        await host.restores.run(request, attempt=1)
    assert not await volume_exists(unique_name)


async def test_a_request_without_the_catalogs_record_is_refused_and_writes_nothing(
    host: Host, unique_name: str
) -> None:
    archive = place_archive(host, [tar_entry("./f", size=1)], unique_name)
    request = restore_into_new_volume(archive, unique_name).model_copy(update={"catalogued": None})
    with pytest.raises(RestoreRefused, match="carries no catalog record"):
        await host.restores.run(request, attempt=1)
    assert not await volume_exists(unique_name)


async def test_a_request_pointing_outside_the_data_dir_is_refused(host: Host, unique_name: str) -> None:
    archive = ev.ArchiveRef(artifact_id=uuid.uuid4(), path="../../etc/passwd", sha256="0" * 64, size_bytes=1)
    request = restore_into_new_volume(archive, unique_name)
    with pytest.raises(PermanentError, match="outside the data dir"):
        await host.restores.run(request, attempt=1)


async def test_a_container_is_recreated_beside_the_original_with_copies_of_its_volumes(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
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
    await host.backups.run(backup_of("container", unique_name), attempt=1)
    config = next(c for c in await host.heard.wait_for(ev.ArchiveCreated, 2) if c.role == "config")

    copy = f"{unique_name}-copy"
    completed = await host.restores.run(restore_of(config, "container", copy), attempt=1)

    inspected = json.loads(await docker_cli("inspect", copy))[0]
    assert inspected["State"]["Running"]
    assert inspected["Mounts"][0]["Name"] == f"{copy}-{unique_name}"
    assert inspected["Config"]["Cmd"] == ["sleep", "3600"]
    assert await describe(busybox_image, f"{copy}-{unique_name}", docker_labels) == await describe(
        busybox_image, unique_name, docker_labels
    )
    assert completed.target == ev.ResourceRef(kind="container", name=copy)


async def test_verify_confirms_a_good_archive_and_reports_its_entries(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    request = ev.VerifyRequested(job_id=uuid.uuid4(), host_id=HOST_ID, archive=created.archive)

    await host.verifier.verify(request, attempt=1)

    [verified] = await host.heard.wait_for(ev.ArchiveVerified)
    assert verified.artifact_id == created.archive.artifact_id
    assert verified.file_count == created.file_count


async def test_verify_reports_a_corrupt_archive(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    archive = host.store.root / created.archive.path
    with archive.open("r+b") as f:
        f.seek(100)
        f.write(b"\0" * 16)

    with pytest.raises(ChecksumMismatch):
        await host.verifier.verify(
            ev.VerifyRequested(job_id=uuid.uuid4(), host_id=HOST_ID, archive=created.archive), attempt=1
        )
    assert host.heard.of(ev.ArchiveVerified) == []


@dataclass
class SavedImage:
    """An image archive made by a backup of `tag` (a tag of the busybox image), that tag removed again
    so that restoring it shows; restore it under `repository`'s names, which are removed afterwards."""

    tag: str
    created: ev.ArchiveCreated
    repository: str


@pytest_asyncio.fixture
async def saved_image(host: Host, busybox_image: str) -> AsyncIterator[SavedImage]:
    suffix = uuid.uuid4().hex[:8]
    tag = f"dockback-test/saved:{suffix}"
    await docker_cli("tag", busybox_image, tag)
    await host.backups.run(backup_of("image", tag), attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    await docker_cli("rmi", tag)
    saved = SavedImage(tag, created, f"dockback-test/restored-{suffix}")
    try:
        yield saved
    finally:
        made = (await docker_cli("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", saved.repository)).split()
        if await image_id_of(saved.tag) is not None:
            made.append(saved.tag)
        if made:
            await docker_cli("rmi", *made)


async def image_id_of(reference: str) -> str | None:
    """The id of the image `reference` (a tag or an id) names on the engine, or None."""
    try:
        return (await docker_cli("image", "inspect", "--format", "{{.Id}}", reference)).decode().strip()
    except AssertionError:  # docker_cli's way of saying the command failed: no such image
        return None


async def test_an_image_restored_under_a_new_name_is_there_under_that_name(
    host: Host, busybox_image: str, saved_image: SavedImage
) -> None:
    new_name = f"{saved_image.repository}:newtag"

    completed = await host.restores.run(restore_of(saved_image.created, "image", new_name), attempt=1)

    assert await image_id_of(new_name) == await image_id_of(busybox_image)
    assert completed.target == ev.ResourceRef(kind="image", name=new_name)
    assert not completed.replaced_existing


async def test_an_image_restore_under_a_name_that_cannot_be_a_tag_is_refused_before_loading(
    host: Host, saved_image: SavedImage
) -> None:
    with pytest.raises(RestoreRefused, match="'Not' is not a repository name"):
        await host.restores.run(restore_of(saved_image.created, "image", "Not:valid"), attempt=1)
    assert await image_id_of(saved_image.tag) is None  # nothing was loaded


async def test_an_image_archive_that_loads_no_image_fails_and_says_so(host: Host, unique_name: str) -> None:
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"[]"))  # `docker load` takes it, and loads nothing
    archive = place_tar(host, empty.getvalue(), ev.ResourceRef(kind="image", name=unique_name), "image", 1)
    request = restore_into_image(archive, f"{unique_name}:restored")

    with pytest.raises(PermanentError, match="loaded no image"):
        await host.restores.run(request, attempt=1)
    assert await image_id_of(f"{unique_name}:restored") is None


async def test_a_restore_the_engine_cannot_write_fails_at_once_with_the_engines_reason(
    host: Host, unique_name: str
) -> None:
    with pytest.raises(EngineFailed, match="file name too long") as failed:
        await host.restores.run(restore_of_a_file_name_too_long(host, unique_name), attempt=1)

    assert not failed.value.retryable
    assert not await volume_exists(unique_name)


async def test_an_untagged_image_restores_under_its_id_and_under_a_new_name(
    host: Host, docker_labels: dict[str, str], unique_name: str
) -> None:
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w") as tar:
        info = tarfile.TarInfo("marker")
        info.size = len(unique_name)
        tar.addfile(info, io.BytesIO(unique_name.encode()))  # an image of its own: its id is this test's
    changes = [f"--change=LABEL {k}={v}" for k, v in docker_labels.items()]
    image_id = (await docker_cli("import", *changes, "-", stdin=rootfs.getvalue())).decode().strip()
    await host.backups.run(backup_of("image", image_id), attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    await docker_cli("rmi", image_id)

    by_id = await host.restores.run(restore_of(created, "image", image_id), attempt=1)
    assert await image_id_of(image_id) == image_id
    short_id = image_id.removeprefix("sha256:")[:12]
    await host.restores.run(restore_of(created, "image", short_id), attempt=1)
    tags = await docker_cli("image", "inspect", "--format", "{{json .RepoTags}}", image_id)
    assert json.loads(tags) == []  # its own short id is no name to tag it with
    by_name = await host.restores.run(restore_of(created, "image", f"{unique_name}:restored"), attempt=1)
    assert await image_id_of(f"{unique_name}:restored") == image_id

    assert by_id.target.name == image_id
    assert by_name.target.name == f"{unique_name}:restored"  # the image carries the case's labels: removed after


async def test_a_storage_choice_for_a_container_restore_is_refused_before_anything_is_written(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    storage = VolumeStorage(driver="local", options={"type": "tmpfs", "device": "tmpfs"})
    with pytest.raises(RestoreRefused, match="only be chosen for a volume restore"):
        await host.restores.run(restore_of(created, "container", f"{unique_name}-copy", storage=storage), attempt=1)
    assert not await volume_exists(f"{unique_name}-copy")


async def test_a_storage_whose_credentials_stayed_on_the_host_is_refused(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    storage = VolumeStorage.from_inspect({"Driver": "local", "Options": {"type": "cifs", "o": "password=x"}})
    with pytest.raises(RestoreRefused, match=r"credential.*choose Original"):
        await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy", storage=storage), attempt=1)
    assert not await volume_exists(f"{unique_name}-copy")


async def test_a_new_volume_of_a_plain_volume_is_plain_local(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    assert created.storage == VolumeStorage()
    await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy"), attempt=1)
    copy = json.loads(await docker_cli("volume", "inspect", f"{unique_name}-copy"))[0]
    assert (copy["Driver"], copy["Options"] or {}) == ("local", {})


# -- backing up the current data first -----------------------------------------------------------


def replacing_after_a_backup(created: ev.ArchiveCreated, name: str, first: ev.BackupRequested) -> ev.RestoreRequested:
    restore = restore_of(created, "volume", name, replace_existing=True, allow_stop=True)
    return restore.model_copy(update={"backup_first": first})


async def test_a_restore_that_backs_up_first_catalogues_the_current_data_before_replacing_it(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    backed_up_state = await describe(busybox_image, unique_name, docker_labels)
    await run_in(busybox_image, unique_name, "echo written-after-the-backup > /data/regular.txt", docker_labels)
    current_state = await describe(busybox_image, unique_name, docker_labels)
    assert current_state != backed_up_state
    first = backup_of("volume", unique_name)
    before = len(host.heard.of(ev.ArchiveCreated))

    completed = await host.restores.run(replacing_after_a_backup(created, unique_name, first), attempt=1)

    assert completed.replaced_existing
    assert await describe(busybox_image, unique_name, docker_labels) == backed_up_state
    [saved] = [a for a in await host.heard.wait_for(ev.ArchiveCreated, before + 1) if a.job_id == first.job_id]
    assert saved.resource == ev.ResourceRef(kind="volume", name=unique_name)
    assert saved.last_of_job
    # The backup taken first holds the data the restore replaced: restoring it undoes the restore.
    await host.restores.run(restore_of(saved, "volume", f"{unique_name}-undo"), attempt=1)
    assert await describe(busybox_image, f"{unique_name}-undo", docker_labels) == current_state


async def test_when_the_backup_taken_first_fails_the_restore_stops_and_overwrites_nothing(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    created = await backed_up(host, busybox_image, docker_labels, unique_name)
    await run_in(busybox_image, unique_name, "echo written-after-the-backup > /data/regular.txt", docker_labels)
    current_state = await describe(busybox_image, unique_name, docker_labels)
    hook = {"container": f"{unique_name}-no-such-container", "command": ["true"]}
    first = backup_of("volume", unique_name, pre_commands=[hook])

    with pytest.raises(PermanentError, match="nothing was overwritten"):
        await host.restores.run(replacing_after_a_backup(created, unique_name, first), attempt=1)

    assert await describe(busybox_image, unique_name, docker_labels) == current_state
    [failed] = [f for f in await host.heard.wait_for(ev.JobFailed) if f.job_id == first.job_id]
    assert failed.kind == "backup"


async def test_a_container_restore_over_the_original_backs_up_the_container_and_its_volumes_first(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    data = f"{unique_name}-data"  # not the container's name: the container is what is backed up first
    await create_volume(data, docker_labels)
    await populate(busybox_image, data, docker_labels, small_files=5)
    await docker_cli(
        "run",
        "-d",
        "--name",
        unique_name,
        *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v",
        f"{data}:/data",
        busybox_image,
        "sleep",
        "3600",
    )
    await host.backups.run(backup_of("container", unique_name), attempt=1)
    config = next(c for c in await host.heard.wait_for(ev.ArchiveCreated, 2) if c.role == "config")
    backed_up_state = await describe(busybox_image, data, docker_labels)
    await docker_cli("exec", unique_name, "sh", "-c", "echo written-after-the-backup > /data/regular.txt")
    current_state = await describe(busybox_image, data, docker_labels)
    first = backup_of("container", unique_name)
    restore = restore_of(config, "container", unique_name, replace_existing=True, allow_stop=True)
    before = len(host.heard.of(ev.ArchiveCreated))

    completed = await host.restores.run(restore.model_copy(update={"backup_first": first}), attempt=1)

    assert completed.replaced_existing
    assert await describe(busybox_image, data, docker_labels) == backed_up_state
    saved = [a for a in await host.heard.wait_for(ev.ArchiveCreated, before + 2) if a.job_id == first.job_id]
    assert sorted(a.role for a in saved) == sorted(["config", data])
    # The backup taken first holds the container as it was: restoring it beside undoes the restore.
    [saved_config] = [a for a in saved if a.role == "config"]
    await host.restores.run(restore_of(saved_config, "container", f"{unique_name}-undo"), attempt=1)
    assert await describe(busybox_image, f"{unique_name}-undo-{data}", docker_labels) == current_state
