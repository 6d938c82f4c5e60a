"""The harness reaches the real Docker Engine and cleans up what a test labels."""

from __future__ import annotations

import subprocess

import aiodocker

from harness.docker_engine import CASE_LABEL


async def test_labelled_volume_and_container_are_created_inspected_and_removed(
    docker: aiodocker.Docker, docker_labels: dict[str, str], busybox_image: str, unique_name: str
) -> None:
    volume = await docker.volumes.create({"Name": unique_name, "Labels": docker_labels})
    container = await docker.containers.create(
        {
            "Image": busybox_image,
            "Cmd": ["sh", "-c", "echo hello > /data/greeting"],
            "Labels": docker_labels,
            "HostConfig": {"Mounts": [{"Type": "volume", "Source": unique_name, "Target": "/data"}]},
        },
        name=unique_name,
    )
    await container.start()
    assert (await container.wait())["StatusCode"] == 0

    inspected = await container.show()
    assert inspected["Config"]["Labels"][CASE_LABEL] == docker_labels[CASE_LABEL]
    assert inspected["Mounts"][0]["Name"] == unique_name
    assert (await volume.show())["Labels"] == docker_labels

    await container.delete(force=True)
    await volume.delete()
    left = subprocess.run(  # noqa: ASYNC221 - the CLI is an independent witness of the removal
        ["docker", "volume", "ls", "-q", "--filter", f"name={unique_name}"], capture_output=True, text=True, check=True
    ).stdout
    assert left.strip() == ""


async def test_a_container_reads_what_another_wrote_to_a_volume(
    docker: aiodocker.Docker, docker_labels: dict[str, str], busybox_image: str, unique_name: str
) -> None:
    await docker.volumes.create({"Name": unique_name, "Labels": docker_labels})
    mount = {"Mounts": [{"Type": "volume", "Source": unique_name, "Target": "/data"}]}
    writer = await docker.containers.run(
        {
            "Image": busybox_image,
            "Cmd": ["sh", "-c", "echo persisted > /data/f"],
            "Labels": docker_labels,
            "HostConfig": mount,
        }
    )
    assert (await writer.wait())["StatusCode"] == 0
    reader = await docker.containers.run(
        {"Image": busybox_image, "Cmd": ["cat", "/data/f"], "Labels": docker_labels, "HostConfig": mount}
    )
    assert (await reader.wait())["StatusCode"] == 0
    assert "".join(await reader.log(stdout=True)).strip() == "persisted"
