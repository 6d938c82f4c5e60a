"""Hosts and their resources on the real gateway: inventories and heartbeats published on the
hosts stream, recorded by the gateway's consumer, shown with the plans that protect them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.inventory import ImageInfo
from dockback_gateway.catalog.models import Artifact, ArtifactState
from dockback_gateway.users.models import Role
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.host_reports import COMPOSE, container, heartbeat, host_view, inventory, publish, report_host, volume
from harness.eventually import eventually


def names(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["name"] for item in items)


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


SHOP = inventory(
    "shop-host",
    containers=[
        container("shop-db", volumes=["shop_data"], project="shop", labels={"tier": "db"}),
        container("shop-web", project="shop", labels={"tier": "web"}),
        container("wiki", volumes=["wiki_data"], labels={"backup": "nightly"}, state="exited"),
    ],
    volumes=[
        volume("shop_data", labels={COMPOSE: "shop"}, used_by=["shop-db"]),
        volume("wiki_data", labels={"backup": "nightly"}, used_by=["wiki"]),
        volume("scratch"),
    ],
    images=[ImageInfo(id="sha256:" + "b" * 64, tags=("busybox:latest",), size_bytes=2_000_000)],
)


async def create_plan(client: httpx.AsyncClient, host_id: str, name: str, targets: list[dict[str, Any]]) -> Any:
    response = await client.post(
        "/plans", json={"name": name, "host_id": host_id, "targets": targets, "cron": "0 3 * * *"}
    )
    assert response.status_code == 201, response.text
    return response.json()


# -- hosts -----------------------------------------------------------------------------------


async def test_a_reported_host_appears_online_with_its_engine_counts_and_running_jobs(gateway: Gateway) -> None:
    job = uuid.uuid4()
    async with logged_in_admin(gateway) as client:
        host = await report_host(gateway, client, SHOP, heartbeat("shop-host", version="1.2.3", running=[job]))
        assert host["online"] is True
        assert host["engine"]["version"] == "27.5.1"
        assert host["executor_version"] == "1.2.3"
        assert host["running_job_ids"] == [str(job)]
        assert (host["containers"], host["running_containers"], host["volumes"], host["images"]) == (3, 2, 3, 1)


async def test_two_executors_of_a_host_each_keep_their_running_jobs_listed(gateway: Gateway) -> None:
    """Executors sharing a host's work heartbeat alternately: one's heartbeat must not drop the
    jobs the other runs (the reconciler would take them as abandoned and publish them again)."""
    first, second = uuid.uuid4(), uuid.uuid4()
    async with logged_in_admin(gateway) as client:
        await report_host(
            gateway, client, inventory("pair-host"), heartbeat("pair-host", running=[first], instance="a")
        )
        # (one at a time: the hosts stream keeps the last message of a host's subject)
        await publish(gateway, heartbeat("pair-host", running=[second], instance="b"))

        async def both_listed() -> dict[str, Any] | None:
            host = await host_view(client, "pair-host")
            return host if host is not None and str(second) in host["running_job_ids"] else None

        host = await eventually(both_listed)
    assert sorted(host["running_job_ids"]) == sorted([str(first), str(second)])
    assert host["executors"] == 2


async def test_the_jobs_of_an_executor_whose_heartbeats_stopped_are_no_longer_listed(gateway: Gateway) -> None:
    gone, alive = uuid.uuid4(), uuid.uuid4()
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    async with logged_in_admin(gateway) as client:
        await report_host(
            gateway,
            client,
            inventory("half-host"),
            heartbeat("half-host", interval=10, occurred_at=long_ago, running=[gone], instance="died"),
        )
        host = await report_host(
            gateway, client, inventory("half-host"), heartbeat("half-host", interval=10, running=[alive], instance="up")
        )
    assert host["running_job_ids"] == [str(alive)]
    assert host["executors"] == 1
    assert host["online"] is True


async def test_a_host_whose_last_heartbeat_is_older_than_three_intervals_is_offline(gateway: Gateway) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    async with logged_in_admin(gateway) as client:
        host = await report_host(
            gateway, client, inventory("quiet-host"), heartbeat("quiet-host", interval=10, occurred_at=long_ago)
        )
        assert host["online"] is False

        await publish(gateway, heartbeat("quiet-host", interval=10))
        assert await eventually(lambda: _online(client, "quiet-host"))


@pytest.mark.parametrize(
    ("free", "total", "low"),
    [
        (50 * 2**30, 100 * 2**30, False),
        (5 * 2**30, 100 * 2**30, True),  # under 10 %
        (512 * 2**20, 2 * 2**30, True),  # 25 %, but under 1 GiB
        (None, None, False),  # an executor that does not measure it
    ],
)
async def test_a_hosts_data_dir_free_space_is_recorded_from_its_heartbeat_and_flagged_when_low(
    gateway: Gateway, free: int | None, total: int | None, low: bool
) -> None:
    async with logged_in_admin(gateway) as client:
        host = await report_host(
            gateway, client, inventory("disk-host"), heartbeat("disk-host", free=free, total=total)
        )

    assert host["data_dir_free_bytes"] == free
    assert host["data_dir_total_bytes"] == total
    assert host["data_dir_space_low"] is low


async def test_a_tiny_heartbeat_interval_makes_a_host_offline_soon_after(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await report_host(gateway, client, inventory("fast-host"), heartbeat("fast-host", interval=0.05))
        assert await eventually(lambda: _offline(client, "fast-host"), timeout=5)


async def test_an_older_heartbeat_or_inventory_never_replaces_a_newer_one(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    async with logged_in_admin(gateway) as client:
        await report_host(
            gateway,
            client,
            inventory("late-host", volumes=[volume("new_volume")], occurred_at=now),
            heartbeat("late-host", version="2.0.0", occurred_at=now),
        )
        await publish(gateway, heartbeat("late-host", version="1.0.0", occurred_at=now - timedelta(seconds=30)))
        await publish(
            gateway, inventory("late-host", volumes=[volume("old_volume")], occurred_at=now - timedelta(seconds=30))
        )
        # A later fact of another host passes the same consumer after these two: once it is shown,
        # the two older ones were handled.
        await report_host(gateway, client, inventory("marker-host"))
        host = await host_view(client, "late-host")
        assert host is not None
        assert host["executor_version"] == "2.0.0"
        assert names(await get_json(client, "/resources/volumes", host_id="late-host")) == ["new_volume"]


async def test_a_malformed_host_fact_is_dropped_and_the_next_one_is_recorded(gateway: Gateway) -> None:
    js = gateway.app.state.broker.connection.jetstream()
    async with logged_in_admin(gateway) as client:
        await js.publish(
            subjects.host_state(ev.HostInventory, "broken-host"),
            b'{"type": "host_inventory.v1", "host_id": "broken-host", "engine": "not an object"}',
        )
        await report_host(gateway, client, inventory("broken-host", volumes=[volume("fine")]))
        assert names(await get_json(client, "/resources/volumes", host_id="broken-host")) == ["fine"]


async def _online(client: httpx.AsyncClient, host_id: str) -> bool:
    host = await host_view(client, host_id)
    return host is not None and host["online"] is True


async def _offline(client: httpx.AsyncClient, host_id: str) -> bool:
    host = await host_view(client, host_id)
    return host is not None and host["online"] is False


# -- containers, volumes, images and their filters ----------------------------------------------


async def test_resources_are_flattened_from_every_host_and_filtered(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await report_host(gateway, client, SHOP)
        await report_host(
            gateway,
            client,
            inventory(
                "other-host", containers=[container("wiki", labels={"backup": "nightly"})], volumes=[volume("x")]
            ),
        )

        everything = await get_json(client, "/resources/containers")
        assert sorted((c["host_id"], c["name"]) for c in everything) == [
            ("other-host", "wiki"),
            ("shop-host", "shop-db"),
            ("shop-host", "shop-web"),
            ("shop-host", "wiki"),
        ]
        assert names(await get_json(client, "/resources/containers", host_id="shop-host")) == [
            "shop-db",
            "shop-web",
            "wiki",
        ]
        assert names(await get_json(client, "/resources/containers", compose_project="shop")) == ["shop-db", "shop-web"]
        assert names(await get_json(client, "/resources/containers", label="backup=nightly")) == ["wiki", "wiki"]
        assert names(await get_json(client, "/resources/containers", label=["tier=db", f"{COMPOSE}=shop"])) == [
            "shop-db"
        ]
        assert names(await get_json(client, "/resources/containers", name="SHOP")) == ["shop-db", "shop-web"]
        assert names(await get_json(client, "/resources/volumes", host_id="shop-host")) == [
            "scratch",
            "shop_data",
            "wiki_data",
        ]
        assert names(await get_json(client, "/resources/volumes", compose_project="shop")) == ["shop_data"]
        assert names(await get_json(client, "/resources/volumes", label="backup=nightly")) == ["wiki_data"]
        assert names(await get_json(client, "/resources/volumes", name="data", host_id="shop-host")) == [
            "shop_data",
            "wiki_data",
        ]
        images = await get_json(client, "/resources/images", name="busybox")
        assert [(i["host_id"], i["tags"]) for i in images] == [("shop-host", ["busybox:latest"])]

        refused = await client.get("/resources/volumes", params={"label": "no-equals-sign"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["field"] == "label.0"
        refused = await client.get("/resources/volumes", params={"host_id": "not a host"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["field"] == "host_id"


async def test_every_role_may_read_resources(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await report_host(gateway, admin, SHOP)
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        for path in ("hosts", "containers", "volumes", "images", "coverage"):
            assert (await viewer.get(f"/resources/{path}")).status_code == 200
    async with gateway.client() as anonymous:
        assert (await anonymous.get("/resources/hosts")).status_code == 401


# -- protection and coverage ---------------------------------------------------------------------


async def test_coverage_changes_when_a_plan_covers_a_volume_by_label(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await report_host(gateway, client, SHOP)
        before = await get_json(client, "/resources/coverage")
        assert before["volumes"] == {"protected": 0, "unprotected": 3}
        assert before["containers"] == {"protected": 0, "unprotected": 3}
        assert {(u["kind"], u["name"]) for u in before["unprotected"]} == {
            ("volume", "shop_data"),
            ("volume", "wiki_data"),
            ("volume", "scratch"),
            ("container", "shop-db"),
            ("container", "shop-web"),
            ("container", "wiki"),
        }

        plan = await create_plan(
            client, "shop-host", "nightly volumes", [{"kind": "volume", "label_selector": {"backup": "nightly"}}]
        )
        after = await get_json(client, "/resources/coverage")
        assert after["volumes"] == {"protected": 1, "unprotected": 2}
        assert ("volume", "wiki_data") not in {(u["kind"], u["name"]) for u in after["unprotected"]}
        [host] = after["hosts"]
        assert host["host_id"] == "shop-host"
        assert host["volumes"] == {"protected": 1, "unprotected": 2}

        [wiki_data] = await get_json(client, "/resources/volumes", name="wiki_data")
        assert wiki_data["protected"] is True
        assert wiki_data["protected_by"] == [
            {"plan_id": plan["id"], "plan_name": "nightly volumes", "via_container": None}
        ]
        assert names(await get_json(client, "/resources/volumes", protected="false")) == ["scratch", "shop_data"]

        # A disabled plan takes no backups, so it protects nothing.
        assert (await client.post(f"/plans/{plan['id']}/disable")).status_code == 200
        assert (await get_json(client, "/resources/coverage"))["volumes"] == {"protected": 0, "unprotected": 3}


async def test_a_volume_mounted_by_a_protected_container_is_protected_through_it(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await report_host(gateway, client, SHOP)
        plan = await create_plan(client, "shop-host", "shop", [{"kind": "container", "compose_project": "shop"}])

        containers = {c["name"]: c for c in await get_json(client, "/resources/containers", host_id="shop-host")}
        assert containers["shop-db"]["protected"]
        assert containers["shop-web"]["protected"]
        assert not containers["wiki"]["protected"]
        volumes = {v["name"]: v for v in await get_json(client, "/resources/volumes", host_id="shop-host")}
        assert volumes["shop_data"]["protected_by"] == [
            {"plan_id": plan["id"], "plan_name": "shop", "via_container": "shop-db"}
        ]
        assert not volumes["wiki_data"]["protected"]
        assert not volumes["scratch"]["protected"]
        coverage = await get_json(client, "/resources/coverage")
        assert coverage["containers"] == {"protected": 2, "unprotected": 1}
        assert coverage["volumes"] == {"protected": 1, "unprotected": 2}


async def test_plans_of_another_host_and_deleted_plans_protect_nothing(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await report_host(gateway, client, SHOP)
        await report_host(gateway, client, inventory("other-host", volumes=[volume("scratch")]))
        elsewhere = await create_plan(client, "other-host", "elsewhere", [{"kind": "volume", "names": ["scratch"]}])
        here = await create_plan(client, "shop-host", "here", [{"kind": "volume", "names": ["scratch"]}])
        assert (await client.delete(f"/plans/{here['id']}")).status_code == 204

        [on_shop] = await get_json(client, "/resources/volumes", host_id="shop-host", name="scratch")
        assert on_shop["protected"] is False
        [on_other] = await get_json(client, "/resources/volumes", host_id="other-host")
        assert [p["plan_id"] for p in on_other["protected_by"]] == [elsewhere["id"]]


async def test_last_backup_and_last_verification_come_from_the_catalog(gateway: Gateway) -> None:
    t0 = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    async with logged_in_admin(gateway) as client:
        await report_host(gateway, client, SHOP)
        async with gateway.app.state.sessions.begin() as db:
            db.add_all(
                [
                    _artifact("volume", "wiki_data", "wiki_data", t0, verified_at=t0 + timedelta(hours=1)),
                    _artifact("volume", "wiki_data", "wiki_data", t0 + timedelta(days=1)),
                    # Pruned: gone, so it is no backup any more.
                    _artifact("volume", "wiki_data", "wiki_data", t0 + timedelta(days=2), state=ArtifactState.PRUNED),
                    # A container backup archives its config and each of its volumes.
                    _artifact("container", "shop-db", "config", t0 + timedelta(days=3)),
                    _artifact("container", "shop-db", "shop_data", t0 + timedelta(days=3), verified_at=t0),
                    # Another host's archive of a volume of the same name is not this one's.
                    _artifact("volume", "scratch", "scratch", t0, host_id="other-host"),
                ]
            )
        volumes = {v["name"]: v for v in await get_json(client, "/resources/volumes", host_id="shop-host")}
        assert _at(volumes["wiki_data"]["last_backup_at"]) == t0 + timedelta(days=1)
        assert _at(volumes["wiki_data"]["last_verified_at"]) == t0 + timedelta(hours=1)
        assert _at(volumes["shop_data"]["last_backup_at"]) == t0 + timedelta(days=3)
        assert _at(volumes["shop_data"]["last_verified_at"]) == t0
        assert volumes["scratch"]["last_backup_at"] is None
        containers = {c["name"]: c for c in await get_json(client, "/resources/containers", host_id="shop-host")}
        assert _at(containers["shop-db"]["last_backup_at"]) == t0 + timedelta(days=3)
        assert containers["wiki"]["last_backup_at"] is None


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _artifact(
    kind: str,
    name: str,
    role: str,
    created_at: datetime,
    *,
    host_id: str = "shop-host",
    verified_at: datetime | None = None,
    state: str = ArtifactState.AVAILABLE,
) -> Artifact:
    return Artifact(
        id=uuid.uuid4(),
        job_id=uuid.uuid4(),
        host_id=host_id,
        plan_id=None,
        resource_kind=kind,
        resource_name=name,
        role=role,
        path=f"{name}/{role}.tar.zst",
        manifest_path=f"{name}/{role}.json",
        size_bytes=10,
        raw_bytes=20,
        file_count=1,
        sha256="a" * 64,
        compression="zstd",
        manifest={},
        created_at=created_at,
        state=state,
        verified_at=verified_at,
    )
