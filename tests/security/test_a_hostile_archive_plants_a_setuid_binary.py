"""A hostile archive plants a setuid-root binary in a volume through a restore.

A volume's archive is data anyone with write access to the volume (any process in a container
that mounts it) or to the archive's path could shape. Before the fix a restore extracted setuid
and setgid files as they were, owners kept (`copyUIDGID`): a root-owned setuid shell in a
volume is root for whoever can run it in any container that mounts the volume. Now a restore
refuses setuid and setgid files (a hard link carrying the bit too, since the engine applies a
link's mode to its file) unless the request says the plan allows them, which only an admin
sets; device files are never restored. Each case runs against the real engine and shows that
nothing was written.
"""

from __future__ import annotations

import tarfile

import pytest
from executor.conftest import Host
from executor.crafted_archives import place_archive, restore_into_new_volume, tar_entry
from executor.volumes import docker_cli, volume_exists

from dockback_runtime.jobs.errors import PermanentError

ROOT_SHELL = "./bin/rootshell"


def planted(mode: int) -> list[tuple[tarfile.TarInfo, bytes]]:
    directory = tar_entry("./bin", type=tarfile.DIRTYPE, mode=0o755)
    shell = tar_entry(ROOT_SHELL, size=64, mode=mode, uid=0, gid=0)
    return [directory, shell]


HOSTILE = {
    "setuid root binary": lambda: planted(0o4755),
    "setgid binary": lambda: planted(0o2755),
    "hard link that sets the bit": lambda: [
        tar_entry("./tool", size=64, mode=0o755, uid=0, gid=0),
        tar_entry("./tool-again", type=tarfile.LNKTYPE, linkname="./tool", mode=0o4755),
    ],
    "character device": lambda: [tar_entry("./mem", type=tarfile.CHRTYPE, devmajor=1, devminor=1, mode=0o666)],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_a_restore_refuses_the_archive_and_creates_nothing(host: Host, unique_name: str, kind: str) -> None:
    archive = place_archive(host, HOSTILE[kind](), unique_name)

    with pytest.raises(PermanentError, match="refused") as refused:
        await host.restores.run(restore_into_new_volume(archive, unique_name), attempt=1)

    assert "setuid" in str(refused.value) or "setgid" in str(refused.value) or "device" in str(refused.value)
    assert not await volume_exists(unique_name)


async def test_a_plan_that_allows_special_bits_restores_them_as_they_were(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    """What the refusal prevents: with the allowance the engine writes the setuid-root file."""
    archive = place_archive(host, planted(0o4755), unique_name)

    await host.restores.run(restore_into_new_volume(archive, unique_name, restore_special_bits=True), attempt=1)

    listing = await docker_cli(
        "run", "--rm", *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v", f"{unique_name}:/data:ro", busybox_image, "stat", "-c", "%a %u", f"/data/{ROOT_SHELL[2:]}",
    )  # fmt: skip
    assert listing.decode().split() == ["4755", "0"]
