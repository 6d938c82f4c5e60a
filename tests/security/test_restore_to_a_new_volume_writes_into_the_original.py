"""A restore "to a new volume" of a bind-backed volume must not write into the original's host directory.

A `local` volume created with `type=none,o=bind,device=/srv/app` IS the host directory
/srv/app. Before the fix the executor created the "new" volume (and the swap's temporary
`-restore-` copy) with the archived volume's driver and options, so the restore wrote into
the original directory, while the original's containers were still running. Here, on the
real engine: a bind-backed volume over a directory of this test, backed up, then restored
to a new name and swapped in over itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from executor.conftest import Host
from executor.requests import backup_of, restore_of
from executor.volumes import docker_cli

from dockback_contracts import events as ev
from dockback_contracts.storage import VolumeStorage

AT_BACKUP = "at backup time\n"
NOW = "changed after the backup\n"


def application_directory(directory: Path) -> None:
    directory.mkdir()
    (directory / "data.txt").write_text(AT_BACKUP)


async def bind_backed_volume(name: str, directory: Path, labels: dict[str, str]) -> None:
    application_directory(directory)
    await docker_cli(
        "volume",
        "create",
        *[f"--label={k}={v}" for k, v in labels.items()],
        *("--driver", "local", "--opt", "type=none", "--opt", "o=bind", "--opt", f"device={directory}"),
        name,
    )


async def backed_up(host: Host, name: str) -> ev.ArchiveCreated:
    before = len(host.heard.of(ev.ArchiveCreated))
    await host.backups.run(backup_of("volume", name), attempt=1)
    return (await host.heard.wait_for(ev.ArchiveCreated, before + 1))[-1]


async def inspect_volume(name: str) -> dict[str, Any]:
    return json.loads(await docker_cli("volume", "inspect", name))[0]  # type: ignore[no-any-return]


async def test_a_restore_to_a_new_name_leaves_the_original_host_directory_alone(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str, tmp_path: Path
) -> None:
    original_dir = tmp_path / "srv-app"
    await bind_backed_volume(unique_name, original_dir, docker_labels)
    created = await backed_up(host, unique_name)
    assert created.storage is not None
    assert created.storage.in_words() == f"the host directory {original_dir}"
    (original_dir / "data.txt").write_text(NOW)  # the application moved on since the backup

    await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy"), attempt=1)

    assert (original_dir / "data.txt").read_text() == NOW  # the restore did not write the original
    copy = await inspect_volume(f"{unique_name}-copy")
    assert (copy["Driver"], copy["Options"] or {}) == ("local", {})
    restored = await docker_cli(
        "run", "--rm", *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v", f"{unique_name}-copy:/data:ro", busybox_image, "cat", "/data/data.txt",
    )  # fmt: skip
    assert restored.decode() == AT_BACKUP


async def test_the_swaps_temporary_copy_is_not_the_original_while_its_containers_run(
    host: Host,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original_dir = tmp_path / "srv-app"
    await bind_backed_volume(unique_name, original_dir, docker_labels)
    created = await backed_up(host, unique_name)
    (original_dir / "data.txt").write_text(NOW)
    await docker_cli(
        "run", "-d", "--name", unique_name, *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v", f"{unique_name}:/data", busybox_image, "sleep", "3600",
    )  # fmt: skip

    # What the engine holds at the moment the swap begins: the temporary copy is complete and the
    # original's container is about to be removed, so it still runs on the original directory.
    seen_at_swap: dict[str, Any] = {}
    remove_container = host.engine.remove_container

    async def watching_remove_container(container_id: str, force: bool = False) -> None:
        if not seen_at_swap:
            temporary = f"{unique_name}-restore-{str(request.job_id)[:8]}"
            seen_at_swap["temporary"] = await inspect_volume(temporary)
            seen_at_swap["original content"] = (original_dir / "data.txt").read_text()
        await remove_container(container_id, force=force)

    monkeypatch.setattr(host.engine, "remove_container", watching_remove_container)
    request = restore_of(created, "volume", unique_name, replace_existing=True, allow_stop=True)
    completed = await host.restores.run(request, attempt=1)

    assert seen_at_swap["original content"] == NOW  # nothing was written there while the container ran
    temporary = seen_at_swap["temporary"]
    assert (temporary["Driver"], temporary["Options"] or {}) == ("local", {})
    # Replacing is the point: the volume keeps its own driver and options, and holds the restored data.
    assert completed.replaced_existing
    replaced = await inspect_volume(unique_name)
    assert VolumeStorage.from_inspect(replaced) == created.storage
    assert (original_dir / "data.txt").read_text() == AT_BACKUP


async def test_the_original_storage_is_used_only_when_the_request_names_it(
    host: Host, docker_labels: dict[str, str], unique_name: str, tmp_path: Path
) -> None:
    original_dir = tmp_path / "srv-app"
    await bind_backed_volume(unique_name, original_dir, docker_labels)
    created = await backed_up(host, unique_name)
    (original_dir / "data.txt").write_text(NOW)

    request = restore_of(created, "volume", f"{unique_name}-same", storage=created.storage)
    await host.restores.run(request, attempt=1)

    same = await inspect_volume(f"{unique_name}-same")
    assert VolumeStorage.from_inspect(same) == created.storage
    assert (original_dir / "data.txt").read_text() == AT_BACKUP  # chosen explicitly, so it wrote there
