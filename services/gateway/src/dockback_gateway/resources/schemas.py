"""Response bodies of the /resources routes: the hosts' latest inventories, flattened."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from dockback_contracts.inventory import EngineInfo, MountInfo, VolumeUser

ONLINE_HEARTBEATS = 3
LOW_SPACE_FRACTION = 0.10
LOW_SPACE_BYTES = 2**30


class HostOut(BaseModel):
    host_id: str
    online: bool = Field(description=f"Its last heartbeat is younger than {ONLINE_HEARTBEATS} heartbeat intervals")
    heartbeat_at: datetime | None = Field(description="When its executor last said it was alive")
    heartbeat_interval_seconds: float | None
    executor_version: str | None
    running_job_ids: list[str] = Field(description="The jobs its executors are working on, by their last heartbeats")
    executors: int = Field(
        default=0, description="How many executor processes of it are alive (they share its work), by their heartbeats"
    )
    data_dir_free_bytes: int | None = Field(
        default=None,
        description="Free bytes on the filesystem of its executor's data dir, where archives are written, at the "
        "last heartbeat (null: not reported)",
    )
    data_dir_total_bytes: int | None = Field(default=None, description="The size of that filesystem in bytes")
    data_dir_space_low: bool = Field(
        default=False,
        description=f"Less than {LOW_SPACE_FRACTION:.0%} of the data dir's filesystem, or less than "
        f"{LOW_SPACE_BYTES // 2**30} GiB, is free: backups will soon fail for want of space",
    )
    inventory_at: datetime | None = Field(description="When the inventory shown was taken")
    first_seen_at: datetime
    engine: EngineInfo | None = Field(description="The Docker Engine, from the last inventory")
    containers: int
    running_containers: int
    volumes: int
    images: int


class ProtectingPlan(BaseModel):
    """A live, enabled plan that backs the resource up."""

    plan_id: uuid.UUID
    plan_name: str
    via_container: str | None = Field(
        default=None, description="For a volume: the plan backs up this container, and with it the volume"
    )


class BackupState(BaseModel):
    protected: bool = Field(description="At least one live, enabled plan backs it up")
    protected_by: list[ProtectingPlan]
    last_backup_at: datetime | None = Field(description="Its newest archive that was not pruned")
    last_verified_at: datetime | None = Field(description="When one of its archives (not pruned) was last verified")


class ContainerOut(BackupState):
    host_id: str
    host_online: bool
    id: str
    name: str
    image: str
    state: str
    labels: dict[str, str]
    compose_project: str | None
    compose_service: str | None
    mounts: list[MountInfo]


class VolumeOut(BackupState):
    host_id: str
    host_online: bool
    name: str
    driver: str
    labels: dict[str, str]
    compose_project: str | None
    size_bytes: int | None
    used_by: list[VolumeUser]


class ImageOut(BaseModel):
    host_id: str
    host_online: bool
    id: str
    tags: list[str]
    size_bytes: int
    protected: bool = Field(description="A live, enabled plan backs it up by one of its tags or its id")
    protected_by: list[ProtectingPlan]


class CoverageCount(BaseModel):
    protected: int
    unprotected: int


class UnprotectedResource(BaseModel):
    host_id: str
    kind: str = Field(description="volume or container")
    name: str


class HostCoverage(BaseModel):
    host_id: str
    online: bool
    volumes: CoverageCount
    containers: CoverageCount
    unprotected: list[UnprotectedResource]


class Coverage(BaseModel):
    """How much of every host's data a plan backs up; the unprotected resources by name."""

    volumes: CoverageCount
    containers: CoverageCount
    hosts: list[HostCoverage]
    unprotected: list[UnprotectedResource]
