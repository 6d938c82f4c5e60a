"""The answer to the restore preview's question (`TargetUsersQuery`): which of the named volumes,
containers and images exist on this host's engine now, and which containers use those volumes.

The host's inventory can be minutes old (it is published on a period and after Docker events),
so a container created seconds before a preview would be missing from it; the preview asks
here instead, and this reads the engine when asked. It follows the inventory's rules
(`discovery.host_inventory`): DockBack's own runner containers are left out, and a volume's
users are the containers that mount it as a volume, running or not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dockback_contracts import inventory as inv
from dockback_contracts.control import TargetUsers, TargetUsersQuery
from dockback_executor.docker_api import RUNNER_LABEL, DockerEngine
from dockback_runtime.jobs.errors import JobError

log = logging.getLogger(__name__)


async def target_users(engine: DockerEngine, host_id: str, query: TargetUsersQuery) -> TargetUsers:
    """What exists of the asked objects now; an engine that cannot be read is said, not raised."""
    try:
        containers = [c for c in await engine.containers() if RUNNER_LABEL not in (c.get("Labels") or {})]
        # Listed, not inspected one by one: a name never becomes part of an engine API path.
        volumes = {v["Name"]: v for v in await engine.volumes()} if query.volumes else {}
        images = await _images(engine, query.images) if query.images else []
    except JobError as exc:
        log.warning("could not tell the restore preview what uses its target: %s", exc)
        return TargetUsers(host_id=host_id, problem=str(exc), checked_at=datetime.now(UTC))
    asked = set(query.containers)
    return TargetUsers(
        host_id=host_id,
        volumes=tuple(_volume(volumes[name], containers) for name in dict.fromkeys(query.volumes) if name in volumes),
        containers=tuple(_container(c) for c in containers if _name(c) in asked),
        images=tuple(images),
        checked_at=datetime.now(UTC),
    )


def _volume(volume: Mapping[str, Any], containers: list[dict[str, Any]]) -> inv.VolumeInfo:
    name = volume["Name"]
    users = [
        inv.VolumeUser(container_id=c["Id"], container_name=_name(c), running=c.get("State") == "running")
        for c in containers
        if any(m.get("Type") == "volume" and m.get("Name") == name for m in c.get("Mounts") or [])
    ]
    return inv.VolumeInfo(
        name=name,
        driver=volume.get("Driver") or "local",
        labels=volume.get("Labels") or {},
        used_by=tuple(users),
    )


async def _images(engine: DockerEngine, asked: tuple[str, ...]) -> list[inv.ImageInfo]:
    """The images named by one of their tags or their id (the inventory's matching rule)."""
    found = []
    for image in await engine.images():
        tags = tuple(t for t in image.get("RepoTags") or () if t != "<none>:<none>")
        if any(name in tags or name == image["Id"] for name in asked):
            found.append(inv.ImageInfo(id=image["Id"], tags=tags, size_bytes=max(int(image.get("Size") or 0), 0)))
    return found


def _name(container: Mapping[str, Any]) -> str:
    return str((container.get("Names") or ["/" + container["Id"][:12]])[0]).lstrip("/")


def _container(c: Mapping[str, Any]) -> inv.ContainerInfo:
    mounts = [
        inv.MountInfo(
            type=m["Type"],
            source=(m.get("Name") if m["Type"] == "volume" else m.get("Source")) or "",
            destination=m.get("Destination", ""),
            read_only=not m.get("RW", True),
        )
        for m in c.get("Mounts") or []
        if m.get("Type") in ("volume", "bind", "tmpfs", "npipe", "cluster", "image")
    ]
    return inv.ContainerInfo(
        id=c["Id"],
        name=_name(c),
        image=c.get("Image", ""),
        image_id=c.get("ImageID", ""),
        state=c.get("State", "unknown"),
        labels=c.get("Labels") or {},
        mounts=tuple(mounts),
    )
