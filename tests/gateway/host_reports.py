"""Hosts as their executors report them: inventories (containers, volumes, images) and
heartbeats put on the hosts stream, and waiting until /resources/hosts shows both."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.inventory import ContainerInfo, EngineInfo, ImageInfo, MountInfo, VolumeInfo, VolumeUser
from gateway.conftest import Gateway
from harness.eventually import eventually

COMPOSE = ev.COMPOSE_PROJECT_LABEL


def container(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    volumes: Sequence[str] = (),
    state: str = "running",
    project: str | None = None,
) -> ContainerInfo:
    all_labels = {**(labels or {}), **({COMPOSE: project} if project else {})}
    return ContainerInfo(
        id=f"{name}-id",
        name=name,
        image="busybox:latest",
        image_id="sha256:" + "b" * 64,
        state=state,
        labels=all_labels,
        compose_project=project,
        mounts=tuple(MountInfo(type="volume", source=v, destination=f"/{v}", read_only=False) for v in volumes),
    )


def volume(name: str, *, labels: dict[str, str] | None = None, used_by: Sequence[str] = ()) -> VolumeInfo:
    return VolumeInfo(
        name=name,
        driver="local",
        labels=labels or {},
        size_bytes=1024,
        used_by=tuple(VolumeUser(container_id=f"{c}-id", container_name=c, running=True) for c in used_by),
    )


def inventory(
    host_id: str,
    *,
    containers: Sequence[ContainerInfo] = (),
    volumes: Sequence[VolumeInfo] = (),
    images: Sequence[ImageInfo] = (),
    occurred_at: datetime | None = None,
) -> ev.HostInventory:
    return ev.HostInventory(
        host_id=host_id,
        engine=EngineInfo(engine_id=f"engine-{host_id}", version="27.5.1", api_version="1.47", os="linux"),
        containers=tuple(containers),
        volumes=tuple(volumes),
        images=tuple(images),
        occurred_at=occurred_at or datetime.now(UTC),
    )


def heartbeat(
    host_id: str,
    *,
    interval: float = 10.0,
    occurred_at: datetime | None = None,
    version: str = "0.1.0",
    running: Sequence[uuid.UUID] = (),
    free: int | None = None,
    total: int | None = None,
    instance: str | None = None,
) -> ev.HostHeartbeat:
    return ev.HostHeartbeat(
        host_id=host_id,
        interval_seconds=interval,
        executor_version=version,
        running_jobs=len(running),
        running_job_ids=tuple(running),
        executor_instance=instance,
        data_dir_free_bytes=free,
        data_dir_total_bytes=total,
        occurred_at=occurred_at or datetime.now(UTC),
    )


async def publish(gateway: Gateway, event: ev.Event) -> None:
    """Put a fact on its stream as an executor does."""
    js = gateway.app.state.broker.connection.jetstream()
    await js.publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": subjects.message_id(event)},
    )


async def host_view(client: httpx.AsyncClient, host_id: str) -> dict[str, Any] | None:
    response = await client.get("/resources/hosts", params={"host_id": host_id})
    assert response.status_code == 200, response.text
    found = response.json()
    return found[0] if found else None


async def report_host(
    gateway: Gateway, client: httpx.AsyncClient, facts: ev.HostInventory, beat: ev.HostHeartbeat | None = None
) -> dict[str, Any]:
    """Publish a host's inventory and heartbeat and wait until /resources/hosts shows both."""
    beat = beat or heartbeat(facts.host_id)
    await publish(gateway, facts)
    await publish(gateway, beat)

    async def shown() -> dict[str, Any] | None:
        host = await host_view(client, facts.host_id)
        if host is None or host["inventory_at"] is None or host["heartbeat_at"] is None:
            return None
        if datetime.fromisoformat(host["inventory_at"]) < facts.occurred_at.replace(microsecond=0):
            return None
        if datetime.fromisoformat(host["heartbeat_at"]) < beat.occurred_at.replace(microsecond=0):
            return None
        return host

    return await eventually(shown)
