"""Plans on the real gateway: validation, fire times in the plan's zone, access rules, audit,
and the snapshot in the plans KV bucket the scheduler reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nats.js.errors import KeyNotFoundError
from sqlalchemy import select

from dockback_contracts.snapshots import PlanSnapshot
from dockback_contracts.streams import PLANS_BUCKET
from dockback_gateway.app import create_app
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.users.models import Role
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.plan_requests import HOST, create, known_host, plan_body, publisher, refusal, snapshot
from harness.eventually import eventually


async def assert_no_snapshot(gateway: Gateway, plan_id: str) -> None:
    await publisher(gateway).drain()
    kv = await gateway.app.state.broker.connection.jetstream().key_value(PLANS_BUCKET)
    with pytest.raises(KeyNotFoundError):
        await kv.get(plan_id)


# -- creating and reading ----------------------------------------------------------------------


async def test_a_created_plan_shows_its_next_five_fire_times_in_its_zone(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        # Noon on the 1st of January and of July: one in winter time, one in summer time.
        plan = await create(client, cron="0 12 1 1,7 *")
        assert plan["revision"] == 1
        assert plan["enabled"] is True
        assert plan["created_by"] == "admin"
        times = [datetime.fromisoformat(t) for t in plan["next_fire_times"]]
        assert len(times) == 5
        assert times == sorted(times)
        assert times[0] > datetime.now(ZoneInfo("UTC"))
        berlin = ZoneInfo("Europe/Berlin")
        for t in times:
            assert (t.hour, t.minute, t.day) == (12, 0, 1)
            assert t.utcoffset() == t.astimezone(berlin).utcoffset()
        offsets = {t.month: t.utcoffset().total_seconds() / 3600 for t in times}  # type: ignore[union-attr]
        assert offsets == {1: 1.0, 7: 2.0}

        assert (await client.get(f"/plans/{plan['id']}")).json()["next_fire_times"] == plan["next_fire_times"]
        listed = (await client.get("/plans")).json()
        assert [p["id"] for p in listed] == [plan["id"]]


async def test_the_schedule_preview_follows_the_zone_across_daylight_saving_changes(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        # 02:30 does not exist on 29 March 2026 in Berlin: that run fires once, at 03:00 summer time.
        spring = await client.get(
            "/plans/schedule-preview",
            params={"cron": "30 2 * * *", "timezone": "Europe/Berlin", "after": "2026-03-27T12:00:00Z"},
        )
        assert spring.status_code == 200, spring.text
        assert spring.json()["fire_times"] == [
            "2026-03-28T02:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00",
            "2026-04-01T02:30:00+02:00",
        ]
        # 02:30 happens twice on 25 October 2026: it fires once, the first time.
        autumn = await client.get(
            "/plans/schedule-preview",
            params={"cron": "30 2 * * *", "timezone": "Europe/Berlin", "after": "2026-10-24T12:00:00Z"},
        )
        assert autumn.json()["fire_times"][:3] == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
            "2026-10-27T02:30:00+01:00",
        ]
        now = await client.get("/plans/schedule-preview", params={"cron": "*/5 * * * *", "timezone": "Asia/Kolkata"})
        assert [t[-6:] for t in now.json()["fire_times"]] == ["+05:30"] * 5


async def test_the_schedule_preview_refuses_a_bad_cron_or_zone_naming_it(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        bad_cron = await client.get("/plans/schedule-preview", params={"cron": "61 * * * *", "timezone": "UTC"})
        assert refusal(bad_cron).startswith("cron: ")
        assert "invalid cron expression" in refusal(bad_cron)
        bad_zone = await client.get("/plans/schedule-preview", params={"cron": "0 3 * * *", "timezone": "Mars/Base"})
        assert refusal(bad_zone).startswith("timezone: ")
        assert "not a known IANA time zone" in refusal(bad_zone)


async def test_a_compression_left_out_is_the_settings_default(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        assert (await client.put("/settings/defaults", json={"default_compression": "gzip"})).status_code == 200
        assert (await create(client))["options"]["compression"] == "gzip"
        chosen = await create(client, name="chosen", options={"compression": "none"})
        assert chosen["options"]["compression"] == "none"


async def test_an_existing_upload_target_is_accepted(gateway: Gateway) -> None:
    target = {"target_id": "offsite", "endpoint": "s3.example.net", "bucket": "archives"}
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        secrets = {"access_key": "access-key-1", "secret_key": "secret-key-1"}
        assert (await client.post("/settings/targets", json={**target, **secrets})).status_code == 201
        plan = await create(client, upload_targets=["offsite", "offsite"])
        assert plan["upload_targets"] == ["offsite"]
        assert (await snapshot(gateway, plan["id"])).upload_targets == ("offsite",)


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"cron": "0 25 * * *"}, "cron", "invalid cron expression"),
        ({"cron": "0 0 30 2 *"}, "cron", "never fires"),
        ({"cron": ""}, "cron", "Enter a value"),
        ({"verify_cron": "every sunday"}, "verify_cron", "invalid cron expression"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "not a known IANA time zone"),
        ({"host_id": "nobody-reported-me"}, "host_id", f"known hosts: {HOST}"),
        ({"host_id": "has spaces"}, "host_id", "letters, digits, '-' or '_'"),
        ({"upload_targets": ["nowhere"]}, "upload_targets", "no S3 target 'nowhere'"),
        ({"targets": []}, "targets", "Give at least 1 item"),
        ({"targets": [{"kind": "volume"}]}, "targets.0", "needs names, a label selector or a compose project"),
        ({"targets": [{"kind": "network", "names": ["x"]}]}, "targets.0.kind", "volume"),
        ({"targets": [{"kind": "volume", "name": ["x"]}]}, "targets.0.name", "Not a field of this request"),
        ({"retention": {"keep_last": -1}}, "retention.keep_last", "Enter 0 or more"),
        ({"retention": {"keep_minimum": 0}}, "retention.keep_minimum", "Enter 1 or more"),
        ({"retention": {"keep_daily": "7"}}, "retention.keep_daily", "Enter a whole number"),
        ({"options": {"compression": "lz4"}}, "options.compression", "zstd"),
        ({"missed_run_grace_seconds": -5}, "missed_run_grace_seconds", "Enter 0 or more"),
        ({"name": "bad\nname"}, "name", "control characters such as line breaks"),
    ],
)
async def test_an_invalid_plan_is_refused_naming_the_field_and_the_reason(
    gateway: Gateway, changes: dict[str, Any], field: str, reason: str
) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        response = await client.post("/plans", json=plan_body(**changes))
        text = refusal(response)
        assert text.startswith(f"{field}: ") or f"; {field}: " in text, text
        assert reason in text, text
        assert (await client.get("/plans")).json() == []


async def test_an_unknown_host_is_refused_even_before_any_host_reported(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        text = refusal(await client.post("/plans", json=plan_body()))
        assert text.startswith("host_id: ")
        assert "no host has reported yet" in text


async def test_a_name_is_unique_among_live_plans_whatever_its_case(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        first = await create(client, name="Nightly")
        taken = await client.post("/plans", json=plan_body(name="NIGHTLY"))
        assert taken.status_code == 409
        assert "exists already" in taken.json()["detail"]
        other = await create(client, name="weekly")
        renamed = await client.put(f"/plans/{other['id']}", json=plan_body(name="nightly"))
        assert renamed.status_code == 409
        # A deleted plan's name is free again.
        assert (await client.delete(f"/plans/{first['id']}")).status_code == 204
        await create(client, name="nightly")


async def test_a_plan_never_moves_to_another_host(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        await known_host(gateway, client, "second-host")
        plan = await create(client)
        moved = await client.put(f"/plans/{plan['id']}", json=plan_body(host_id="second-host"))
        assert refusal(moved).startswith("host_id: a plan stays on its host")
        same = await client.put(f"/plans/{plan['id']}", json=plan_body(host_id=HOST, cron="0 4 * * *"))
        assert same.status_code == 200
        assert same.json()["cron"] == "0 4 * * *"


# -- access ------------------------------------------------------------------------------------


async def test_a_viewer_may_read_plans_but_not_change_them(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        await known_host(gateway, admin)
        plan = await create(admin)
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        assert (await viewer.get("/plans")).status_code == 200
        assert (await viewer.get(f"/plans/{plan['id']}")).status_code == 200
        assert (await viewer.post("/plans", json=plan_body(name="mine"))).status_code == 403
        assert (await viewer.put(f"/plans/{plan['id']}", json=plan_body())).status_code == 403
        assert (await viewer.post(f"/plans/{plan['id']}/disable")).status_code == 403
        assert (await viewer.delete(f"/plans/{plan['id']}")).status_code == 403
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        made = await operator.post("/plans", json=plan_body(name="operators"))
        assert made.status_code == 201
        assert made.json()["created_by"] == "operator"


# -- changes: revision, audit, snapshot ----------------------------------------------------------


async def test_every_change_raises_the_revision_and_is_published_for_the_scheduler(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client, retention={"keep_last": 3, "keep_daily": 7})
        published = await snapshot(gateway, plan["id"])
        assert (published.revision, published.name, published.enabled) == (1, "nightly", True)
        assert published.retention.keep_daily == 7
        assert published.targets[0].label_selector == {"backup": "nightly"}

        updated = await client.put(f"/plans/{plan['id']}", json=plan_body(cron="15 1 * * *"))
        assert updated.status_code == 200
        assert updated.json()["revision"] == 2
        published = await snapshot(gateway, plan["id"])
        assert (published.revision, published.cron) == (2, "15 1 * * *")

        disabled = await client.post(f"/plans/{plan['id']}/disable")
        assert disabled.json()["enabled"] is False
        assert disabled.json()["next_fire_times"] == []
        published = await snapshot(gateway, plan["id"])
        assert (published.revision, published.enabled) == (3, False)

        enabled = await client.post(f"/plans/{plan['id']}/enable")
        assert enabled.json()["revision"] == 4
        assert len(enabled.json()["next_fire_times"]) == 5
        assert (await snapshot(gateway, plan["id"])).enabled is True

        again = await client.post(f"/plans/{plan['id']}/enable")  # already enabled: nothing changes
        assert again.json()["revision"] == 4
        unchanged = await client.put(f"/plans/{plan['id']}", json=plan_body(cron="15 1 * * *"))
        assert unchanged.json()["revision"] == 4


async def test_a_deleted_plan_loses_its_snapshot_but_stays_readable(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client)
        await snapshot(gateway, plan["id"])
        assert (await client.delete(f"/plans/{plan['id']}")).status_code == 204
        await assert_no_snapshot(gateway, plan["id"])

        assert (await client.get("/plans")).json() == []
        gone = (await client.get(f"/plans/{plan['id']}")).json()
        assert gone["deleted_at"] is not None
        assert gone["next_fire_times"] == []
        assert (await client.delete(f"/plans/{plan['id']}")).status_code == 404
        assert (await client.put(f"/plans/{plan['id']}", json=plan_body())).status_code == 404
        assert (await client.post(f"/plans/{plan['id']}/enable")).status_code == 404
        assert (await client.get(f"/plans/{uuid.uuid4()}")).status_code == 404


async def test_a_refused_change_publishes_nothing(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client)
        await create(client, name="taken")
        refused = await client.put(f"/plans/{plan['id']}", json=plan_body(name="taken"))
        assert refused.status_code == 409
        assert (await snapshot(gateway, plan["id"])).revision == 1
        assert (await client.get(f"/plans/{plan['id']}")).json()["name"] == "nightly"


async def test_plan_changes_are_audited_without_their_values(gateway: Gateway) -> None:
    hook = {"container": "db", "command": ["pg_dump", "--password=canary-hook-secret"]}
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client, options={"pre_commands": [hook]})
        await client.put(f"/plans/{plan['id']}", json=plan_body(cron="0 5 * * *", options={"pre_commands": [hook]}))
        await client.post(f"/plans/{plan['id']}/disable")
        await client.post(f"/plans/{plan['id']}/enable")
        await client.delete(f"/plans/{plan['id']}")
    async with gateway.app.state.sessions() as db:
        entries = (
            await db.scalars(select(AuditEntry).where(AuditEntry.action.like("plan.%")).order_by(AuditEntry.id))
        ).all()
    assert [(e.action, e.target, e.actor, e.outcome) for e in entries] == [
        (action, plan["id"], "admin", "success")
        for action in ("plan.create", "plan.update", "plan.disable", "plan.enable", "plan.delete")
    ]
    assert entries[1].details == {"changed": ["cron"], "revision": 2}
    assert all("canary-hook-secret" not in str(e.details) for e in entries)


async def test_list_filters_by_host_and_enabled(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        await known_host(gateway, client, "second-host")
        a = await create(client, name="a")
        b = await create(client, name="b", host_id="second-host", enabled=False)
        assert [p["id"] for p in (await client.get("/plans", params={"host_id": "second-host"})).json()] == [b["id"]]
        assert [p["id"] for p in (await client.get("/plans", params={"enabled": "true"})).json()] == [a["id"]]
        assert [p["id"] for p in (await client.get("/plans")).json()] == [a["id"], b["id"]]


# -- the sweep -----------------------------------------------------------------------------------


async def test_the_sweep_restores_lost_snapshots_and_removes_those_of_deleted_plans(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        kept = await create(client, name="kept")
        deleted = await create(client, name="deleted")
        stale_snapshot = await snapshot(gateway, deleted["id"])
        assert (await client.delete(f"/plans/{deleted['id']}")).status_code == 204
        await assert_no_snapshot(gateway, deleted["id"])

    kv = await gateway.app.state.broker.connection.jetstream().key_value(PLANS_BUCKET)
    await kv.purge(kept["id"])  # a lost bucket entry
    await kv.put(deleted["id"], stale_snapshot.model_dump_json().encode())  # a stale writer brought it back
    assert await publisher(gateway).sweep() == 2
    assert (await snapshot(gateway, kept["id"])).revision == 1
    await assert_no_snapshot(gateway, deleted["id"])
    assert await publisher(gateway).sweep() == 0  # in step: nothing to do


async def test_publishing_a_key_already_in_step_writes_nothing(gateway: Gateway) -> None:
    """The sweep counts what it wrote: a key it read as stale that a publication after commit (or
    another gateway) brought in step meanwhile is not counted."""
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client)
        await snapshot(gateway, plan["id"])
    kv = await gateway.app.state.broker.connection.jetstream().key_value(PLANS_BUCKET)
    written = (await kv.get(plan["id"])).revision
    assert await publisher(gateway).publish(uuid.UUID(plan["id"])) is False
    assert (await kv.get(plan["id"])).revision == written  # not written again
    await kv.purge(plan["id"])
    assert await publisher(gateway).publish(uuid.UUID(plan["id"])) is True
    assert (await snapshot(gateway, plan["id"])).revision == 1


async def test_a_starting_gateway_publishes_the_snapshots_a_lost_bucket_misses(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client)
        await snapshot(gateway, plan["id"])
    kv = await gateway.app.state.broker.connection.jetstream().key_value(PLANS_BUCKET)
    await kv.purge(plan["id"])

    second = create_app(gateway.settings)
    async with second.router.lifespan_context(second):

        async def republished() -> bool:
            entry = await kv.get(plan["id"])
            return PlanSnapshot.model_validate_json(entry.value).revision == 1

        assert await eventually(republished)


async def test_an_older_snapshot_never_replaces_a_newer_one(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client)
        await client.put(f"/plans/{plan['id']}", json=plan_body(cron="0 6 * * *"))
        newer = await snapshot(gateway, plan["id"])
    kv = await gateway.app.state.broker.connection.jetstream().key_value(PLANS_BUCKET)
    # Another gateway published a revision this one has not read yet: it is left alone.
    ahead = newer.model_copy(update={"revision": 99})
    await kv.put(plan["id"], ahead.model_dump_json().encode())
    await publisher(gateway).publish(uuid.UUID(plan["id"]))
    assert (await snapshot(gateway, plan["id"])).revision == 99
