"""The restore preview asks the host's real executor what uses the target now: a container created
after the host's last inventory is named among the containers the restore stops.

The executor reaches the engine through a proxy that holds back the engine's event stream, so it
reports no inventory after its first one: the gateway's inventory stays the one without the new
container for the whole test (as when the report of a container created seconds ago is still on
its way), and only the executor's answer can name it.
"""

from __future__ import annotations

from typing import Any

import httpx
from executor.conftest import engine_proxy  # noqa: F401 - the fixture
from executor.engine_proxy import EngineProxy
from executor.volumes import create_volume, docker_cli
from gateway.conftest import Gateway, logged_in_admin

from dockback_gateway.resources.models import Host
from e2e.conftest import HOST_ID, Services
from harness.eventually import eventually


async def _inventory(gateway: Gateway) -> dict[str, Any] | None:
    """The host's last inventory as the gateway recorded it."""
    async with gateway.app.state.sessions() as db:
        host = await db.get(Host, HOST_ID)
        return None if host is None else host.inventory


async def _backed_up(client: httpx.AsyncClient, volume: str) -> str:
    """Back the volume up now through the API; the artifact's id."""
    run = await client.post("/jobs", json={"host_id": HOST_ID, "resource": {"kind": "volume", "name": volume}})
    assert run.status_code == 202, run.text
    job_id = run.json()["id"]

    async def finished() -> dict[str, Any] | None:
        job = (await client.get(f"/jobs/{job_id}")).json()
        return job if job["finished"] else None

    job = await eventually(finished, timeout=120, interval=0.5)
    assert job["status"] == "succeeded", job
    [artifact] = job["artifacts"]
    return str(artifact["id"])


async def test_a_container_created_after_the_last_inventory_is_named_in_the_preview(
    gateway: Gateway,
    services: Services,
    engine_proxy: EngineProxy,  # noqa: F811 - the fixture imported above
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    volume, app = unique_name, f"{unique_name}-app"
    await create_volume(volume, docker_labels)
    engine_proxy.hold_events()
    services.start(
        "executor",
        "dockback_executor",
        DOCKBACK_DOCKER_URL=engine_proxy.url,
        DOCKBACK_INVENTORY_INTERVAL_SECONDS="3600",
    )
    try:

        async def volume_inventoried() -> bool:
            inventory = await _inventory(gateway)
            return inventory is not None and any(v["name"] == volume for v in inventory["volumes"])

        await eventually(volume_inventoried, timeout=60)
        async with logged_in_admin(gateway) as client:
            artifact_id = await _backed_up(client, volume)
            labels = [f"--label={k}={v}" for k, v in docker_labels.items()]
            await docker_cli(
                "run", "-d", "--name", app, *labels, "-v", f"{volume}:/data", busybox_image, "sleep", "3600"
            )

            target = {"kind": "volume", "name": volume, "replace_existing": True}
            in_use = await client.post("/restores/preview", json={"artifact_id": artifact_id, "target": target})
            allowed = await client.post(
                "/restores/preview", json={"artifact_id": artifact_id, "target": {**target, "allow_stop": True}}
            )
    except BaseException:
        print(services.logs())
        raise

    assert in_use.status_code == 409, in_use.text
    assert f"{app} (running)" in in_use.json()["detail"]
    assert allowed.status_code == 200, allowed.text
    body = allowed.json()
    assert body["stops"] == [app]
    assert [u["container_name"] for u in body["volumes"][0]["used_by"]] == [app]
    assert body["checked_on_host"] is True
    assert body["fallback"] is None
    # The gateway's inventory still says nobody uses the volume: the preview did not read it there.
    inventory = await _inventory(gateway)
    assert inventory is not None
    assert [v["used_by"] for v in inventory["volumes"] if v["name"] == volume] == [[]]
