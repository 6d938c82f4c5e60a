"""The steps of a restore on the gateway: a host with a reported inventory and a catalogued
backup of its volume, a preview of a restore, and its confirmation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from dockback_contracts import events as ev
from dockback_contracts.inventory import ContainerInfo, EngineInfo, ImageInfo, MountInfo, VolumeInfo, VolumeUser
from dockback_gateway.resources.models import Host
from gateway.catalog_facts import archive_created, catalogued, publish
from gateway.conftest import Gateway
from harness.eventually import eventually

HOST = "host-a"
RESTORE_SUBJECT = f"dockback.jobs.{HOST}.restore"
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def inventory() -> ev.HostInventory:
    """host-a: volume pgdata used by the running container db, volume spare used by nobody."""
    return ev.HostInventory(
        host_id=HOST,
        engine=EngineInfo(engine_id="e1", version="27.0", api_version="1.46"),
        containers=(
            ContainerInfo(
                id="c0ffee",
                name="db",
                image="postgres:16",
                image_id="sha256:aa",
                state="running",
                mounts=(MountInfo(type="volume", source="pgdata", destination="/var/lib/postgresql", read_only=False),),
            ),
        ),
        volumes=(
            VolumeInfo(
                name="pgdata",
                driver="local",
                used_by=(VolumeUser(container_id="c0ffee", container_name="db", running=True),),
            ),
            VolumeInfo(name="spare", driver="local"),
        ),
        images=(ImageInfo(id="sha256:aa", tags=("postgres:16",), size_bytes=1),),
    )


async def known_host(gateway: Gateway) -> None:
    """The host reports its inventory on the hosts stream; wait until the gateway has it."""
    await publish(gateway, inventory())

    async def recorded() -> bool:
        async with gateway.app.state.sessions() as db:
            host = await db.get(Host, HOST)
            return host is not None and host.inventory is not None

    await eventually(recorded)


async def backed_up_volume(gateway: Gateway, name: str = "pgdata") -> uuid.UUID:
    await known_host(gateway)
    return await catalogued(gateway, archive_created(HOST, None, name, T0))


def new_volume(name: str = "pgdata-restored", **flags: bool) -> dict[str, Any]:
    return {"kind": "volume", "name": name, **flags}


async def preview(
    client: httpx.AsyncClient, artifact_id: uuid.UUID, target: dict[str, Any], **options: bool
) -> httpx.Response:
    return await client.post("/restores/preview", json={"artifact_id": str(artifact_id), "target": target, **options})


async def confirm(client: httpx.AsyncClient, token: str, name: str | None) -> httpx.Response:
    """Confirm the previewed restore, with the target's name typed again (None: not typed)."""
    body = {"token": token} if name is None else {"token": token, "confirm_name": name}
    return await client.post("/restores", json=body)
