"""Views of the hosts' resources: the latest inventories, flattened, each resource with
the plans that protect it and the times of its newest archive and verification."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts.events import COMPOSE_PROJECT_LABEL, HostInventory
from dockback_gateway.resources import repository
from dockback_gateway.resources.models import Host
from dockback_gateway.resources.protection import HostProtection, PlanTargets, Protection, protection_of
from dockback_gateway.resources.repository import ArchiveTimes
from dockback_gateway.resources.schemas import (
    LOW_SPACE_BYTES,
    LOW_SPACE_FRACTION,
    ONLINE_HEARTBEATS,
    ContainerOut,
    Coverage,
    CoverageCount,
    HostCoverage,
    HostOut,
    ImageOut,
    ProtectingPlan,
    UnprotectedResource,
    VolumeOut,
)

log = logging.getLogger(__name__)

# Roles of a container's archives that are not one of its volumes (see the executor's parts);
# a volume named "config" or "image" inside a container backup cannot be told apart.
_CONTAINER_ROLES = ("config", "image")
_BIND_ROLE_PREFIX = "bind/"  # bind/<destination>: volume names have no "/"


@dataclass(frozen=True)
class ResourceFilter:
    """Which containers or volumes to show; every given criterion must hold."""

    host_id: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    compose_project: str | None = None
    name: str | None = None  # a substring, whatever its case
    protected: bool | None = None

    def keeps(self, name: str, labels: Mapping[str, str], compose_project: str | None, protected: bool) -> bool:
        if self.name is not None and self.name.lower() not in name.lower():
            return False
        if self.compose_project is not None and compose_project != self.compose_project:
            return False
        if self.protected is not None and protected != self.protected:
            return False
        return all(labels.get(key) == value for key, value in self.labels.items())


def space_is_low(free: int | None, total: int | None) -> bool:
    """Whether a data dir's filesystem is nearly full: under 10 % or under 1 GiB free (a large
    filesystem's 10 % is plenty; a small one's 1 GiB can be all of it)."""
    if free is None:
        return False
    return free < LOW_SPACE_BYTES or (total is not None and free < total * LOW_SPACE_FRACTION)


def is_online(host: Host, now: datetime) -> bool:
    """Online while the last heartbeat is younger than a few of its intervals (the database's clock)."""
    if host.heartbeat_at is None or not host.heartbeat_interval_seconds:
        return False
    return now - host.heartbeat_at < timedelta(seconds=ONLINE_HEARTBEATS * host.heartbeat_interval_seconds)


@dataclass
class _Times:
    last_backup_at: datetime | None = None
    last_verified_at: datetime | None = None

    def add(self, row: ArchiveTimes) -> None:
        self.last_backup_at = _newest(self.last_backup_at, row.last_backup_at)
        self.last_verified_at = _newest(self.last_verified_at, row.last_verified_at)


@dataclass
class _HostView:
    host: Host
    online: bool
    inventory: HostInventory | None
    protection: HostProtection
    container_times: dict[str, _Times]
    volume_times: dict[str, _Times]


class ResourceViews:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def hosts(self, host_id: str | None = None) -> list[HostOut]:
        now = await repository.database_now(self.db)
        out = []
        for host in await repository.hosts(self.db, host_id):
            inventory = _inventory_of(host)
            out.append(
                HostOut(
                    host_id=host.host_id,
                    online=is_online(host, now),
                    heartbeat_at=host.heartbeat_at,
                    heartbeat_interval_seconds=host.heartbeat_interval_seconds,
                    executor_version=host.executor_version,
                    running_job_ids=list(host.running_job_ids or ()),
                    executors=host.executors or 0,
                    data_dir_free_bytes=host.data_dir_free_bytes,
                    data_dir_total_bytes=host.data_dir_total_bytes,
                    data_dir_space_low=space_is_low(host.data_dir_free_bytes, host.data_dir_total_bytes),
                    inventory_at=host.inventory_at,
                    first_seen_at=host.first_seen_at,
                    engine=inventory.engine if inventory else None,
                    containers=len(inventory.containers) if inventory else 0,
                    running_containers=sum(c.state == "running" for c in inventory.containers) if inventory else 0,
                    volumes=len(inventory.volumes) if inventory else 0,
                    images=len(inventory.images) if inventory else 0,
                )
            )
        return out

    async def containers(self, wanted: ResourceFilter) -> list[ContainerOut]:
        out = []
        for view in await self._views(wanted.host_id):
            for c in view.inventory.containers if view.inventory else ():
                protections = view.protection.containers.get(c.name, [])
                if not wanted.keeps(c.name, c.labels, c.compose_project, bool(protections)):
                    continue
                times = view.container_times.get(c.name, _Times())
                out.append(
                    ContainerOut(
                        host_id=view.host.host_id,
                        host_online=view.online,
                        id=c.id,
                        name=c.name,
                        image=c.image,
                        state=c.state,
                        labels=c.labels,
                        compose_project=c.compose_project,
                        compose_service=c.compose_service,
                        mounts=list(c.mounts),
                        protected=bool(protections),
                        protected_by=_plans(protections),
                        last_backup_at=times.last_backup_at,
                        last_verified_at=times.last_verified_at,
                    )
                )
        return out

    async def volumes(self, wanted: ResourceFilter) -> list[VolumeOut]:
        out = []
        for view in await self._views(wanted.host_id):
            for v in view.inventory.volumes if view.inventory else ():
                protections = view.protection.volumes.get(v.name, [])
                project = v.labels.get(COMPOSE_PROJECT_LABEL)
                if not wanted.keeps(v.name, v.labels, project, bool(protections)):
                    continue
                times = view.volume_times.get(v.name, _Times())
                out.append(
                    VolumeOut(
                        host_id=view.host.host_id,
                        host_online=view.online,
                        name=v.name,
                        driver=v.driver,
                        labels=v.labels,
                        compose_project=project,
                        size_bytes=v.size_bytes,
                        used_by=list(v.used_by),
                        protected=bool(protections),
                        protected_by=_plans(protections),
                        last_backup_at=times.last_backup_at,
                        last_verified_at=times.last_verified_at,
                    )
                )
        return out

    async def images(self, host_id: str | None, name: str | None) -> list[ImageOut]:
        out = []
        for view in await self._views(host_id):
            for image in view.inventory.images if view.inventory else ():
                if name is not None and not any(name.lower() in n.lower() for n in (*image.tags, image.id)):
                    continue
                protections = view.protection.images.get(image.id, [])
                out.append(
                    ImageOut(
                        host_id=view.host.host_id,
                        host_online=view.online,
                        id=image.id,
                        tags=list(image.tags),
                        size_bytes=image.size_bytes,
                        protected=bool(protections),
                        protected_by=_plans(protections),
                    )
                )
        return out

    async def coverage(self) -> Coverage:
        """Per host and in total: protected and unprotected volumes and containers."""
        hosts = []
        for view in await self._views(None, with_times=False):
            unprotected = [
                UnprotectedResource(host_id=view.host.host_id, kind=kind, name=name)
                for kind, table in (("volume", view.protection.volumes), ("container", view.protection.containers))
                for name, protections in sorted(table.items())
                if not protections
            ]
            hosts.append(
                HostCoverage(
                    host_id=view.host.host_id,
                    online=view.online,
                    volumes=_count(view.protection.volumes.values()),
                    containers=_count(view.protection.containers.values()),
                    unprotected=unprotected,
                )
            )
        return Coverage(
            volumes=_total(h.volumes for h in hosts),
            containers=_total(h.containers for h in hosts),
            hosts=hosts,
            unprotected=[item for h in hosts for item in h.unprotected],
        )

    async def _views(self, host_id: str | None, *, with_times: bool = True) -> list[_HostView]:
        """Each host with its inventory, the plans that protect what it holds and (`with_times`)
        the times of each resource's newest archive and verification."""
        now = await repository.database_now(self.db)
        hosts = await repository.hosts(self.db, host_id)
        host_ids = [h.host_id for h in hosts]
        plans: dict[str, list[PlanTargets]] = {}
        for plan in await repository.protecting_plans(self.db, host_ids):
            plans.setdefault(plan.host_id, []).append(plan)
        container_times: dict[str, dict[str, _Times]] = {}
        volume_times: dict[str, dict[str, _Times]] = {}
        for row in await repository.archive_times(self.db, host_ids) if with_times else ():
            for table, name in _archived_resources(row):
                times = (container_times if table == "container" else volume_times).setdefault(row.host_id, {})
                times.setdefault(name, _Times()).add(row)
        views = []
        for host in hosts:
            inventory = _inventory_of(host)
            views.append(
                _HostView(
                    host=host,
                    online=is_online(host, now),
                    inventory=inventory,
                    protection=protection_of(inventory, plans.get(host.host_id, [])) if inventory else HostProtection(),
                    container_times=container_times.get(host.host_id, {}),
                    volume_times=volume_times.get(host.host_id, {}),
                )
            )
        return views


def _archived_resources(row: ArchiveTimes) -> list[tuple[str, str]]:
    """Which container and volume an archive backs up: a volume's own archive, or a container's
    archives (its config, image and the volumes it mounts, each archived under the volume's name)."""
    if row.resource_kind == "volume":
        return [("volume", row.resource_name)]
    if row.resource_kind != "container":
        return []
    found = [("container", row.resource_name)]
    if row.role not in _CONTAINER_ROLES and not row.role.startswith(_BIND_ROLE_PREFIX):
        found.append(("volume", row.role))
    return found


_INVENTORIES: dict[tuple[str, datetime], HostInventory] = {}  # by host and inventory_at
_INVENTORIES_KEPT = 10_000


def _inventory_of(host: Host) -> HostInventory | None:
    """The host's stored inventory, parsed once: a host's inventory is replaced only by a newer one
    (`recording.record_inventory` keeps the one with the latest `inventory_at`), so the host and
    that time name its content. The dashboard and the resource lists read every host's on each
    request; parsing them (or comparing their JSON) was a tenth of the dashboard's time."""
    if host.inventory is None:
        return None
    key = (host.host_id, host.inventory_at) if host.inventory_at is not None else None
    if key is not None and (parsed := _INVENTORIES.get(key)) is not None:
        return parsed
    try:
        inventory = HostInventory.model_validate(host.inventory, strict=False)
    except ValidationError as exc:
        log.warning("host %s: the stored inventory does not parse, shown as empty: %s", host.host_id, exc)
        return None
    if key is not None:
        if len(_INVENTORIES) >= _INVENTORIES_KEPT:
            _INVENTORIES.clear()
        _INVENTORIES[key] = inventory
    return inventory


def _plans(protections: Iterable[Protection]) -> list[ProtectingPlan]:
    return [
        ProtectingPlan(plan_id=p.plan_id, plan_name=p.plan_name, via_container=p.via_container) for p in protections
    ]


def _count(protections: Iterable[list[Protection]]) -> CoverageCount:
    flags = [bool(p) for p in protections]
    return CoverageCount(protected=sum(flags), unprotected=len(flags) - sum(flags))


def _total(counts: Iterable[CoverageCount]) -> CoverageCount:
    counts = list(counts)
    return CoverageCount(protected=sum(c.protected for c in counts), unprotected=sum(c.unprotected for c in counts))


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
