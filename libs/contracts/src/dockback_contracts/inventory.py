"""What a host's Docker Engine holds, as reported in `HostInventory`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockback_contracts.base import ByteCount, Model, Name, Seq


class EngineInfo(Model):
    """The Docker Engine an executor talks to."""

    engine_id: str
    version: str
    api_version: str
    os: str = ""
    architecture: str = ""


class MountInfo(Model):
    """One mount of a container."""

    type: Literal["volume", "bind", "tmpfs", "npipe", "cluster", "image"]
    source: str = Field(description="Volume name for volume mounts, host path for bind mounts.")
    destination: str
    read_only: bool


class ContainerInfo(Model):
    """A container on the host."""

    id: str
    name: Name
    image: str
    image_id: str
    image_digest: str | None = None
    state: str = Field(description="created, running, paused, restarting, exited, dead")
    labels: dict[str, str] = Field(default_factory=dict)
    compose_project: str | None = None
    compose_service: str | None = None
    mounts: Seq[MountInfo] = ()


class VolumeUser(Model):
    """A container that mounts a volume."""

    container_id: str
    container_name: Name
    running: bool


class VolumeInfo(Model):
    """A named volume on the host."""

    name: Name
    driver: str
    labels: dict[str, str] = Field(default_factory=dict)
    size_bytes: ByteCount | None = Field(default=None, description="When the engine reports it (system df).")
    used_by: Seq[VolumeUser] = ()


class ImageInfo(Model):
    """An image on the host."""

    id: str
    tags: Seq[str] = ()
    size_bytes: ByteCount
