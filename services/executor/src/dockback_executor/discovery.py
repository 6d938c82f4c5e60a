"""What this host's engine holds: `HostInventory` at start, on a period and after Docker events,
and a `HostHeartbeat` so the control plane knows when the host is gone and which jobs it is
working on (a job listed there is alive, whatever its last event)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Container, Mapping
from pathlib import Path
from typing import Any

from dockback_contracts import events as ev
from dockback_contracts import inventory as inv
from dockback_executor import __version__
from dockback_executor.docker_api import RUNNER_LABEL, DockerEngine
from dockback_executor.errors import EngineUnavailable
from dockback_runtime.delivery import wait_until_set
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.running import RunningJobs
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
_WATCHED_ACTIONS = {
    "create",
    "destroy",
    "start",
    "stop",
    "die",
    "pause",
    "unpause",
    "rename",
    "delete",
    "remove",
    "tag",
    "untag",
    "import",
    "load",
    "pull",
    "mount",
    "unmount",
}
_DEBOUNCE_SECONDS = 0.5
_RETRY_FIRST_SECONDS = 2.0  # a failed inventory is tried again after 2, 4, 8 ... seconds
_RETRY_MAX_SECONDS = 60.0
_SIZES_SECONDS = 5.0


def changes_inventory(event: Mapping[str, Any], runners: Container[str]) -> bool:
    """Whether an engine event may change what the host inventory says: a watched action, not by
    one of DockBack's runner containers (their own events carry its label; a volume's mount and
    unmount name the container only, so `runners` are the ids of those this executor made)."""
    attributes = (event.get("Actor") or {}).get("Attributes") or {}
    if RUNNER_LABEL in attributes or attributes.get("container") in runners:
        return False
    return str(event.get("Action", "")).split(":")[0] in _WATCHED_ACTIONS


async def host_inventory(engine: DockerEngine, host_id: str, engine_info: inv.EngineInfo) -> ev.HostInventory:
    """Everything the engine holds right now (DockBack's own runner containers left out)."""
    containers = [c for c in await engine.containers() if RUNNER_LABEL not in (c.get("Labels") or {})]
    volumes = await engine.volumes()
    try:
        # the engine walks every file of every volume to answer: a slow answer would hold back news
        # of what changed (a volume a restore made), and sizes are a nicety
        sizes = await asyncio.wait_for(engine.volume_sizes(), _SIZES_SECONDS)
    except (EngineUnavailable, TimeoutError) as exc:  # the engine runs one `system df` at a time
        log.info("this inventory has the volume sizes last known: %s", exc or "the engine took too long")
        sizes = dict(engine.known_volume_sizes)
    images = await engine.images()
    users: dict[str, list[inv.VolumeUser]] = {}
    container_infos = []
    for c in containers:
        name = (c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/")
        labels = c.get("Labels") or {}
        mounts = []
        for m in c.get("Mounts") or []:
            if m.get("Type") not in ("volume", "bind", "tmpfs", "npipe", "cluster", "image"):
                continue
            source = m.get("Name") if m.get("Type") == "volume" else m.get("Source", "")
            mounts.append(
                inv.MountInfo(
                    type=m["Type"],
                    source=source or "",
                    destination=m.get("Destination", ""),
                    read_only=not m.get("RW", True),
                )
            )
            if m.get("Type") == "volume" and m.get("Name"):
                users.setdefault(m["Name"], []).append(
                    inv.VolumeUser(container_id=c["Id"], container_name=name, running=c.get("State") == "running")
                )
        container_infos.append(
            inv.ContainerInfo(
                id=c["Id"],
                name=name,
                image=c.get("Image", ""),
                image_id=c.get("ImageID", ""),
                image_digest=_digest_of(c.get("ImageID", ""), images),
                state=c.get("State", "unknown"),
                labels=labels,
                compose_project=labels.get(COMPOSE_PROJECT),
                compose_service=labels.get(COMPOSE_SERVICE),
                mounts=tuple(mounts),
            )
        )
    volume_infos = [
        inv.VolumeInfo(
            name=v["Name"],
            driver=v.get("Driver", "local"),
            labels=v.get("Labels") or {},
            size_bytes=sizes.get(v["Name"]),
            used_by=tuple(users.get(v["Name"], ())),
        )
        for v in volumes
    ]
    image_infos = [
        inv.ImageInfo(
            id=i["Id"],
            tags=tuple(t for t in i.get("RepoTags") or () if t != "<none>:<none>"),
            size_bytes=max(int(i.get("Size") or 0), 0),
        )
        for i in images
    ]
    return ev.HostInventory(
        host_id=host_id,
        engine=engine_info,
        containers=tuple(container_infos),
        volumes=tuple(volume_infos),
        images=tuple(image_infos),
    )


def _digest_of(image_id: str, images: list[dict[str, Any]]) -> str | None:
    for image in images:
        if image.get("Id") == image_id:
            digests = image.get("RepoDigests") or []
            return str(digests[0]) if digests else None
    return None


class Discovery:
    """Keeps the control plane's picture of this host current."""

    def __init__(
        self,
        engine: DockerEngine,
        announcer: Announcer,
        host_id: str,
        engine_info: inv.EngineInfo,
        running: RunningJobs,
        inventory_interval: float,
        heartbeat_interval: float,
        data_dir: Path | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.instance_id = instance_id  # which executor process of the host heartbeats
        self.data_dir = data_dir  # its filesystem's free space goes out with every heartbeat
        self.announcer = announcer
        self.host_id = host_id
        self.engine_info = engine_info
        self.running = running
        self.inventory_interval = inventory_interval
        self.heartbeat_interval = heartbeat_interval
        self._changed = asyncio.Event()

    async def run(self) -> None:
        """Publish until cancelled."""
        tasks = [
            asyncio.create_task(self._inventory_loop()),
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._watch_events()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            await stop_loops(*tasks)

    async def publish_inventory(self) -> ev.HostInventory:
        inventory = await host_inventory(self.engine, self.host_id, self.engine_info)
        await self.announcer.publish(inventory)
        return inventory

    async def _inventory_loop(self) -> None:
        failures = 0
        while True:
            wait = self.inventory_interval
            try:
                await self.publish_inventory()
                failures = 0
            except Exception as exc:
                # Tried again soon (the engine restarting, NATS away), not only at the next
                # engine event or interval: until then the control plane shows an old picture.
                failures += 1
                wait = min(wait, _RETRY_FIRST_SECONDS * 2 ** min(failures - 1, 10), _RETRY_MAX_SECONDS)
                log.warning(
                    "could not publish the host inventory (attempt %d; again in %.0fs): %s",
                    failures,
                    wait,
                    exc,
                    exc_info=failures == 1,
                )
            await wait_until_set(self._changed, wait)
            self._changed.clear()
            await asyncio.sleep(_DEBOUNCE_SECONDS)  # one inventory for a burst of events

    async def heartbeat(self) -> ev.HostHeartbeat:
        """This executor's sign of life: the jobs it runs, and the room left in its data dir."""
        running = self.running.ids()
        free, total = await self._data_dir_space()
        return ev.HostHeartbeat(
            host_id=self.host_id,
            interval_seconds=self.heartbeat_interval,
            executor_version=__version__,
            running_jobs=len(running),
            running_job_ids=running,
            executor_instance=self.instance_id,
            data_dir_free_bytes=free,
            data_dir_total_bytes=total,
        )

    async def _data_dir_space(self) -> tuple[int | None, int | None]:
        if self.data_dir is None:
            return None, None
        try:
            # statvfs can block on a hung network filesystem: not on the event loop
            usage = await asyncio.to_thread(shutil.disk_usage, self.data_dir)
        except OSError as exc:
            log.warning("cannot measure the free space of the data dir %s: %s", self.data_dir, exc)
            return None, None
        return usage.free, usage.total

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                await self.announcer.publish(await self.heartbeat())
            except Exception:
                log.warning("could not publish the heartbeat", exc_info=True)
            await asyncio.sleep(self.heartbeat_interval)

    async def _watch_events(self) -> None:
        while True:
            try:
                async for event in self.engine.events():
                    if changes_inventory(event, self.engine.recent_runners):
                        self._changed.set()
            except Exception:
                log.warning("lost the Docker event stream; reconnecting", exc_info=True)
            await asyncio.sleep(1.0)
