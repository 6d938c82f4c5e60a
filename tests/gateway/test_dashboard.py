"""GET /dashboard on the real gateway: one summary read from hosts, plans, jobs, missed runs
and the catalog, with the facts written as rows (each of those domains is tested for how it
records them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactState
from dockback_gateway.dashboard.repository import (
    KeptArchive,
    archives_kept_between,
    compact_storage_changes,
    storage_changes,
)
from dockback_gateway.dashboard.service import storage_by_day
from dockback_gateway.jobs.models import Job, MissedRun
from dockback_gateway.plans.models import Plan
from dockback_gateway.resources.models import Host
from dockback_gateway.settings.models import S3Target
from dockback_gateway.users.models import Role
from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin
from gateway.host_reports import inventory, volume
from harness.catalog_seed import seed_catalog

NOW = datetime.now(UTC)
EARLIER_TODAY = 0.0


@pytest.fixture(autouse=True)
def _now() -> None:
    """ "Now" as each test starts, not when the module was imported: in a full run that can be
    many minutes earlier, and a host whose heartbeat is that old counts as offline."""
    global NOW, EARLIER_TODAY
    NOW = datetime.now(UTC)
    # days ago of a time between midnight (UTC) and now: today whenever the test runs
    EARLIER_TODAY = (NOW - datetime.combine(NOW.date(), time(), UTC)) / 2 / timedelta(days=1)


def host_row(
    host_id: str, *, online: bool, volumes: list[str], free: int | None = None, total: int | None = None
) -> Host:
    beat = NOW - (timedelta(seconds=5) if online else timedelta(hours=2))
    facts = inventory(host_id, volumes=[volume(v) for v in volumes])
    return Host(
        host_id=host_id,
        inventory=facts.model_dump(mode="json"),
        inventory_at=beat,
        heartbeat_at=beat,
        heartbeat_interval_seconds=10.0,
        executor_version="0.1.0",
        running_job_ids=[],
        data_dir_free_bytes=free,
        data_dir_total_bytes=total,
        first_seen_at=NOW - timedelta(days=40),
    )


def plan_row(name: str, host_id: str, *, volumes: list[str], cron: str, enabled: bool = True) -> Plan:
    return Plan(
        id=uuid.uuid4(),
        name=name,
        host_id=host_id,
        enabled=enabled,
        cron=cron,
        timezone="Europe/Berlin",
        targets=[{"kind": "volume", "names": volumes}],
        options={},
        upload_targets=[],
        retention={"keep_last": 5},
        created_at=NOW - timedelta(days=40),
        updated_at=NOW - timedelta(days=40),
    )


def job_row(status: str, host_id: str, *, plan: Plan | None = None, hours_ago: float, **fields: Any) -> Job:
    created = NOW - timedelta(hours=hours_ago)
    finished = status in ("succeeded", "failed", "cancelled")
    return Job(
        id=uuid.uuid4(),
        kind=fields.pop("kind", "backup"),
        host_id=host_id,
        plan_id=plan.id if plan else None,
        status=status,
        phase="done" if finished else status,
        created_at=created,
        finished_at=created + timedelta(minutes=1) if finished else None,
        **fields,
    )


def artifact_row(
    host_id: str,
    plan: Plan,
    name: str,
    *,
    days_ago: float,
    size: int,
    verified_days_ago: float | None = None,
    pruned_days_ago: float | None = None,
) -> Artifact:
    created = NOW - timedelta(days=days_ago)
    return Artifact(
        id=uuid.uuid4(),
        job_id=uuid.uuid4(),
        host_id=host_id,
        plan_id=plan.id,
        resource_kind="volume",
        resource_name=name,
        role=name,
        path=f"volumes/{name}/{uuid.uuid4()}.tar.zst",
        manifest_path="m.json",
        size_bytes=size,
        raw_bytes=size * 2,
        file_count=1,
        sha256="0" * 64,
        compression="zstd",
        manifest={},
        created_at=created,
        state=ArtifactState.PRUNED if pruned_days_ago is not None else ArtifactState.AVAILABLE,
        local_present=pruned_days_ago is None,
        verified_at=NOW - timedelta(days=verified_days_ago) if verified_days_ago is not None else None,
        pruned_at=NOW - timedelta(days=pruned_days_ago) if pruned_days_ago is not None else None,
    )


def past_getting_started(host_id: str) -> list[Any]:
    """What completes the getting-started checklist beside an online host: an enabled plan (of a
    volume the host does not have) whose backup succeeded a day and more ago, an S3 target and a
    verified archive. The dashboard is then as for any installation: its unprotected volumes an
    item each."""
    plan = plan_row("established", host_id, volumes=["kept-elsewhere"], cron="0 3 * * *")
    target = S3Target(
        target_id="offsite",
        endpoint="s3.example.net",
        secure=True,
        region=None,
        bucket="b",
        prefix="",
        access_key=b"sealed",
        secret_key=b"sealed",
        part_size_bytes=16 * 2**20,
        verify_full_read=False,
    )
    return [
        plan,
        job_row("succeeded", host_id, plan=plan, hours_ago=30),
        target,
        artifact_row(host_id, plan, "kept-elsewhere", days_ago=2, size=1, verified_days_ago=1),
    ]


async def add(gateway: Gateway, *rows: Any) -> None:
    async with gateway.app.state.sessions.begin() as db:
        db.add_all(rows)


async def dashboard(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/dashboard")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_hosts_coverage_and_jobs_of_the_last_day_are_counted(gateway: Gateway) -> None:
    app_plan = plan_row("app", "h1", volumes=["app_data"], cron="0 3 * * *")
    await add(
        gateway,
        host_row("h1", online=True, volumes=["app_data", "cache", "logs"]),
        host_row("h2", online=False, volumes=["db_data"]),
        app_plan,
    )
    await add(
        gateway,
        job_row("succeeded", "h1", plan=app_plan, hours_ago=2),
        job_row("succeeded", "h1", plan=app_plan, hours_ago=5),
        job_row("failed", "h1", plan=app_plan, hours_ago=3, error="disk full"),
        job_row("running", "h1", hours_ago=30, resource_kind="volume", resource_name="cache"),
        job_row("queued", "h1", hours_ago=0.1),
        job_row("cancelled", "h1", hours_ago=1),
        job_row("succeeded", "h1", plan=app_plan, hours_ago=48),  # ended before the last 24 h
    )
    async with logged_in_admin(gateway) as client:
        found = await dashboard(client)
    assert found["hosts"] == {"online": 1, "offline": 1}
    assert found["volumes"] == {"protected": 1, "unprotected": 3}
    assert found["jobs_24h"] == {"succeeded": 2, "failed": 1, "cancelled": 1, "running": 1, "queued": 1}


async def test_next_runs_are_the_soonest_fire_time_of_each_enabled_plan_in_its_zone(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=["a"]))
    hourly = plan_row("hourly", "h1", volumes=["a"], cron="0 * * * *")
    yearly = plan_row("yearly", "h1", volumes=["a"], cron="0 0 1 1 *")
    off = plan_row("off", "h1", volumes=["a"], cron="* * * * *", enabled=False)
    await add(gateway, hourly, yearly, off)
    async with logged_in_admin(gateway) as client:
        found = await dashboard(client)
    runs = found["next_runs"]
    assert [r["plan_name"] for r in runs] == ["hourly", "yearly"]
    first = datetime.fromisoformat(runs[0]["fires_at"])
    assert first.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # Berlin's offset
    assert timedelta(0) < first - datetime.now(UTC) <= timedelta(hours=1)
    assert first.minute == 0
    yearly_at = datetime.fromisoformat(runs[1]["fires_at"])
    assert (yearly_at.month, yearly_at.day, yearly_at.hour) == (1, 1, 0)


async def test_each_plan_shows_its_newest_backup_and_newest_verified_backup(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=["a"]))
    checked = plan_row("checked", "h1", volumes=["a"], cron="0 3 * * *")
    unchecked = plan_row("unchecked", "h1", volumes=["a"], cron="0 4 * * *")
    await add(gateway, checked, unchecked)
    verified = artifact_row("h1", checked, "a", days_ago=3, size=100, verified_days_ago=2)
    await add(
        gateway,
        verified,
        artifact_row("h1", checked, "a", days_ago=1, size=100),
        artifact_row("h1", checked, "a", days_ago=10, size=100, verified_days_ago=1, pruned_days_ago=5),
        artifact_row("h1", unchecked, "a", days_ago=4, size=100),
    )
    async with logged_in_admin(gateway) as client:
        plans = {p["plan_name"]: p for p in (await dashboard(client))["plans"]}
    assert plans["checked"]["last_verified_artifact_id"] == str(verified.id)
    assert verified.verified_at is not None
    assert abs(datetime.fromisoformat(plans["checked"]["last_verified_at"]) - verified.verified_at) < timedelta(
        seconds=1
    )
    assert abs(datetime.fromisoformat(plans["checked"]["last_backup_at"]) - (NOW - timedelta(days=1))) < timedelta(
        seconds=1
    )
    assert plans["unchecked"]["last_verified_at"] is None
    assert plans["unchecked"]["last_backup_at"] is not None


async def test_storage_counts_each_day_the_archives_created_and_not_yet_pruned(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=["a"]))
    plan = plan_row("p", "h1", volumes=["a"], cron="0 3 * * *")
    await add(gateway, plan)
    uploaded = artifact_row("h1", plan, "a", days_ago=5.5, size=300)
    await add(
        gateway,
        artifact_row("h1", plan, "a", days_ago=10.5, size=1000, pruned_days_ago=2.5),
        uploaded,
        artifact_row("h1", plan, "a", days_ago=EARLIER_TODAY, size=50),
        artifact_row("h1", plan, "a", days_ago=60, size=7, pruned_days_ago=45),  # gone before the window
    )
    await add(
        gateway,
        ArtifactCopy(
            artifact_id=uploaded.id,
            target_id="s3",
            bucket="b",
            key="k",
            size_bytes=300,
            sha256="0" * 64,
            verified_by="metadata",
            uploaded_at=NOW - timedelta(days=4.5),
        ),
    )
    async with logged_in_admin(gateway) as client:
        storage = (await dashboard(client))["storage"]
    assert len(storage) == 30
    assert storage[-1]["day"] == NOW.date().isoformat()
    by_day: dict[str, dict[str, Any]] = {s["day"]: s for s in storage}

    def day(days_ago: int) -> dict[str, Any]:
        return by_day[(NOW - timedelta(days=days_ago)).date().isoformat()]

    assert day(20)["total_bytes"] == 0
    assert day(8)["total_bytes"] == 1000
    assert day(4)["total_bytes"] == 1300
    assert day(4)["remote_bytes"] == 300
    assert day(1)["total_bytes"] == 300
    assert storage[-1] == {"day": NOW.date().isoformat(), "total_bytes": 350, "local_bytes": 350, "remote_bytes": 300}


async def test_storage_summed_in_the_database_equals_storage_by_day_over_every_archive(
    gateway: Gateway, database_url: str
) -> None:
    """The dashboard sums per-day changes in SQL; storage_by_day over archives_kept_between (every
    archive of the window read into Python) is the definition it must match, on a seeded catalog
    with pruned archives, removed local files and remote copies."""
    async with logged_in_admin(gateway) as client:
        await seed_catalog(database_url.replace("postgresql+asyncpg://", "postgresql://"), 0.02)
        found = await dashboard(client)
    now = datetime.fromisoformat(found["generated_at"])
    start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC) - timedelta(days=30)
    async with gateway.app.state.sessions() as db:
        expected = storage_by_day(await archives_kept_between(db, start, now), now, 30)
    assert any(day.local_bytes != day.total_bytes for day in expected), "some local files were removed"
    assert found["storage"] == [day.model_dump(mode="json") for day in expected]


async def test_storage_kept_by_the_database_follows_every_kind_of_write_to_archives_and_copies(
    gateway: Gateway,
) -> None:
    """The per-day changes are written by triggers on archives and copies: after each kind of write
    the catalog makes (archives and copies several in one statement, a copy uploaded again, a local
    file removed, a prune, a copy and an archive deleted) and after the rows are folded, the chart
    equals storage_by_day over every archive as it is then."""
    plan = plan_row("p", "h1", volumes=["a"], cron="0 3 * * *")
    await add(gateway, plan)
    old, middle, new, bare = (
        artifact_row("h1", plan, "a", days_ago=40, size=7000),
        artifact_row("h1", plan, "a", days_ago=12.5, size=1000),
        artifact_row("h1", plan, "a", days_ago=3.5, size=300),
        artifact_row("h1", plan, "a", days_ago=EARLIER_TODAY, size=50),
    )

    def copy(artifact: Artifact, target: str, days_ago: float, size: int) -> dict[str, Any]:
        return {
            "artifact_id": artifact.id,
            "target_id": target,
            "bucket": "b",
            "key": f"k/{artifact.id}",
            "size_bytes": size,
            "sha256": "0" * 64,
            "verified_by": "metadata",
            "uploaded_at": NOW - timedelta(days=days_ago),
        }

    async def write(*statements: Any) -> None:
        async with gateway.app.state.sessions.begin() as db:
            for statement in statements:
                await db.execute(statement)

    async def chart_matches(client: httpx.AsyncClient) -> None:
        found = await dashboard(client)
        now = datetime.fromisoformat(found["generated_at"])
        start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC) - timedelta(days=30)
        async with gateway.app.state.sessions() as db:
            expected = storage_by_day(await archives_kept_between(db, start, now), now, 30)
        assert found["storage"] == [day.model_dump(mode="json") for day in expected]

    async with logged_in_admin(gateway) as client:
        await add(gateway, old, middle, new, bare)  # one INSERT of four rows
        await chart_matches(client)
        await write(
            insert(ArtifactCopy).values(
                [copy(middle, "s3", 11, 1000), copy(middle, "b2", 12, 990), copy(new, "s3", 3, 300)]
            )
        )
        await chart_matches(client)
        again = insert(ArtifactCopy).values(copy(middle, "b2", 2, 995))  # the catalog's upsert of a copy
        await write(
            again.on_conflict_do_update(index_elements=["artifact_id", "target_id"], set_=copy(middle, "b2", 2, 995))
        )
        await chart_matches(client)
        await write(update(Artifact).where(Artifact.id.in_([middle.id, bare.id])).values(local_present=False))
        await chart_matches(client)
        await write(
            update(Artifact)
            .where(Artifact.id.in_([old.id, new.id]))
            .values(state=ArtifactState.PRUNED, pruned_at=NOW - timedelta(hours=1), local_present=False)
        )
        await chart_matches(client)
        await write(delete(ArtifactCopy).where(ArtifactCopy.artifact_id == middle.id, ArtifactCopy.target_id == "s3"))
        await chart_matches(client)
        await write(delete(Artifact).where(Artifact.id == new.id))  # its copy goes with it (ON DELETE CASCADE)
        await chart_matches(client)
        async with gateway.app.state.sessions.begin() as db:
            assert await compact_storage_changes(db)
        async with gateway.app.state.sessions() as db:
            changes, rows = await storage_changes(db)
        assert rows == len(changes), "one row a day once folded"
        await chart_matches(client)


def test_an_archive_whose_local_file_the_uploader_removed_counts_as_local_until_its_first_copy() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    archive = KeptArchive(
        id=uuid.uuid4(),
        size_bytes=10,
        created_at=datetime(2026, 3, 7, 1, tzinfo=UTC),
        pruned_at=None,
        local_present=False,
        copies=((datetime(2026, 3, 8, 23, tzinfo=UTC), 10),),
    )
    days = storage_by_day([archive], now, 4)
    assert [(d.day.day, d.total_bytes, d.local_bytes, d.remote_bytes) for d in days] == [
        (7, 10, 10, 0),
        (8, 10, 0, 10),
        (9, 10, 0, 10),
        (10, 10, 0, 10),
    ]


async def test_needs_attention_lists_unfixed_failures_first_then_missed_runs_offline_hosts_and_unprotected(
    gateway: Gateway,
) -> None:
    fixed = plan_row("fixed", "h1", volumes=["a"], cron="0 3 * * *")
    broken = plan_row("broken", "h1", volumes=["a"], cron="0 3 * * *")
    late = plan_row("late", "h1", volumes=["a"], cron="0 3 * * *")
    await add(
        gateway,
        host_row("h1", online=True, volumes=["a", "loose"]),
        host_row("h2", online=False, volumes=[]),
        fixed,
        broken,
        late,
    )
    unfixed = job_row("failed", "h1", plan=broken, hours_ago=2, error="disk full")
    adhoc = job_row("failed", "h1", hours_ago=1, resource_kind="volume", resource_name="loose", error="gone")
    await add(
        gateway,
        job_row("failed", "h1", plan=fixed, hours_ago=5, error="timeout"),
        job_row("succeeded", "h1", plan=fixed, hours_ago=4),
        job_row("succeeded", "h1", plan=broken, hours_ago=6),
        unfixed,
        adhoc,
        job_row("failed", "h1", plan=broken, hours_ago=24 * 9, error="too old to be news"),
        MissedRun(
            plan_id=late.id,
            scheduled_for=NOW - timedelta(hours=3),
            host_id="h1",
            reason="the scheduler was down",
            reported_at=NOW - timedelta(hours=2),
        ),
        MissedRun(  # a success of the plan came after it
            plan_id=fixed.id,
            scheduled_for=NOW - timedelta(hours=7),
            host_id="h1",
            reason="the scheduler was down",
            reported_at=NOW - timedelta(hours=6),
        ),
    )
    await add(gateway, *past_getting_started("h1"))
    async with logged_in_as(gateway, Role.VIEWER) as client:
        found = await dashboard(client)
    attention = found["attention"]
    assert [(a["kind"], a["job_id"] or a["plan_name"] or a["resource_name"] or a["host_id"]) for a in attention] == [
        ("failed_job", str(adhoc.id)),
        ("failed_job", str(unfixed.id)),
        ("missed_run", "late"),
        ("offline_host", "h2"),
        ("unprotected_volume", "loose"),
    ]
    assert found["attention_total"] == 5
    assert attention[1]["plan_id"] == str(broken.id)
    assert "disk full" in attention[1]["message"]


async def test_a_host_whose_data_dir_is_nearly_full_needs_attention_saying_how_much_is_free(
    gateway: Gateway,
) -> None:
    await add(
        gateway,
        host_row("roomy", online=True, volumes=[], free=60 * 2**30, total=100 * 2**30),
        host_row("cramped", online=True, volumes=[], free=3 * 2**30, total=100 * 2**30),
    )
    async with logged_in_as(gateway, Role.VIEWER) as client:
        found = await dashboard(client)

    [low] = [a for a in found["attention"] if a["kind"] == "low_space"]
    assert low["host_id"] == "cramped"
    assert low["message"] == (
        "Free space low on host cramped: its data dir has 3.0 GiB free of 100.0 GiB (3%); backups fail when it is full"
    )


async def test_an_empty_installation_answers_with_zeros(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        found = await dashboard(client)
    assert found["hosts"] == {"online": 0, "offline": 0}
    assert found["next_runs"] == []
    assert found["plans"] == []
    assert found["attention"] == []
    assert all(day["total_bytes"] == 0 for day in found["storage"])


async def test_the_dashboard_needs_a_session(gateway: Gateway) -> None:
    async with gateway.client() as client:
        assert (await client.get("/dashboard")).status_code == 401


async def acknowledge(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/dashboard/attention/acknowledgements", json={"key": key})


async def audit_rows(gateway: Gateway, action: str) -> list[AuditEntry]:
    async with gateway.app.state.sessions() as db:
        return list(await db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


RESTORE_REFUSED = "volume {!r} already exists; restore to a new name or allow replacing it"


async def test_failures_of_one_kind_and_cause_are_one_short_line_that_counts_them(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=[]), host_row("h2", online=True, volumes=[]))
    restores = [
        job_row(
            "failed",
            host,
            kind="restore",
            hours_ago=hours,
            resource_kind="volume",
            resource_name=name,
            error=RESTORE_REFUSED.format(name),
        )
        for host, name, hours in (("h1", "alpha", 3), ("h2", "beta", 2), ("h1", "gamma", 1), ("h1", "delta", 4))
    ]
    checksum = job_row(
        "failed",
        "h1",
        kind="verify",
        hours_ago=5,
        resource_kind="volume",
        resource_name="db",
        error="archive volumes/db/2026-12-01T030000Z-1f2e3d4c.tar.zst refused: sha256 "
        + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 is not the recorded "
        + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855. Nothing was restored.",
    )
    await add(gateway, *restores, checksum)
    async with logged_in_as(gateway, Role.VIEWER) as client:
        found = await dashboard(client)
    grouped, single = found["attention"]
    assert found["attention_total"] == 2
    assert grouped["count"] == 4
    assert grouped["message"] == (
        "4 restores failed: volume already exists (gamma on h1, beta on h2, alpha on h1 and 1 more)"
    )
    assert (grouped["job_id"], grouped["job_kind"], grouped["host_id"]) == (None, "restore", None)
    assert grouped["key"].startswith("failed_jobs:restore:")
    assert single["count"] == 1
    assert single["job_id"] == str(checksum.id)
    assert single["message"] == "Verify of volume db failed: archive … refused: sha256 … is not the recorded …"


async def test_an_acknowledged_failure_leaves_the_list_until_it_fails_again(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=[]))
    plan = plan_row("nightly", "h1", volumes=["a"], cron="0 3 * * *")
    await add(gateway, plan)
    await add(gateway, job_row("failed", "h1", plan=plan, hours_ago=3, error="disk full"))
    async with logged_in_as(gateway, Role.OPERATOR, "olivia") as operator:
        [item] = (await dashboard(operator))["attention"]
        acknowledged = await acknowledge(operator, item["key"])
        assert acknowledged.status_code == 200, acknowledged.text
        assert acknowledged.json()["acknowledged_by"] == "olivia"
        after = await dashboard(operator)
    assert (after["attention"], after["attention_total"], after["acknowledged_total"]) == ([], 0, 1)
    [hidden] = after["acknowledged"]
    assert (hidden["key"], hidden["acknowledged_by"]) == (item["key"], "olivia")
    [row] = await audit_rows(gateway, "attention.acknowledge")
    assert (row.actor, row.target, row.outcome) == ("olivia", "Backup of plan nightly failed: disk full", "success")

    newer = job_row("failed", "h1", plan=plan, hours_ago=1, error="disk full")
    await add(gateway, newer)
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        again = await dashboard(viewer)
    assert [a["job_id"] for a in again["attention"]] == [str(newer.id)]
    assert again["acknowledged"] == []


async def test_an_acknowledged_group_comes_back_with_a_new_failure_of_the_same_cause(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=[]))
    gone = [
        job_row("failed", "h1", kind="restore", hours_ago=3 + i, resource_kind="volume", resource_name=name, error=e)
        for i, (name, e) in enumerate((n, RESTORE_REFUSED.format(n)) for n in ("a", "b", "c"))
    ]
    await add(gateway, *gone)
    async with logged_in_as(gateway, Role.ADMIN, "ada") as admin:
        [group] = (await dashboard(admin))["attention"]
        assert group["count"] == 3
        assert (await acknowledge(admin, group["key"])).status_code == 200
        assert (await dashboard(admin))["attention"] == []
        await add(
            gateway,
            job_row(
                "failed",
                "h1",
                kind="restore",
                hours_ago=1,
                resource_kind="volume",
                resource_name="d",
                error=RESTORE_REFUSED.format("d"),
            ),
        )
        found = await dashboard(admin)
    [new] = found["attention"]
    assert (new["count"], new["resource_name"]) == (1, "d")
    [old] = found["acknowledged"]
    assert (old["count"], old["acknowledged_by"]) == (3, "ada")


async def test_conditions_without_a_start_come_back_as_each_description_says(gateway: Gateway) -> None:
    offline = host_row("h2", online=False, volumes=[])
    await add(
        gateway,
        host_row("h1", online=True, volumes=["scratch"], free=10 * 2**30, total=200 * 2**30),
        offline,
        *past_getting_started("h1"),
    )
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        keys = {a["kind"]: a["key"] for a in (await dashboard(operator))["attention"]}
        assert set(keys) == {"offline_host", "low_space", "unprotected_volume"}
        for key in keys.values():
            assert (await acknowledge(operator, key)).status_code == 200
        assert (await dashboard(operator))["attention_total"] == 0
        async with gateway.app.state.sessions.begin() as db:
            h1, h2 = await db.get(Host, "h1"), await db.get(Host, "h2")
            assert h1 is not None
            assert h2 is not None
            h1.data_dir_free_bytes = 6 * 2**30  # lower, but not half of what was free when acknowledged
            h2.heartbeat_at = NOW - timedelta(hours=1)  # it came back, then went again
        assert [a["kind"] for a in (await dashboard(operator))["attention"]] == ["offline_host"]
        async with gateway.app.state.sessions.begin() as db:
            h1 = await db.get(Host, "h1")
            assert h1 is not None
            h1.data_dir_free_bytes = 4 * 2**30
        found = await dashboard(operator)
    assert [a["kind"] for a in found["attention"]] == ["offline_host", "low_space"]
    assert [a["kind"] for a in found["acknowledged"]] == ["unprotected_volume"]  # left out on purpose


async def test_taking_an_acknowledgement_back_shows_the_item_again_and_is_audited(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=["scratch"]), *past_getting_started("h1"))
    async with logged_in_as(gateway, Role.OPERATOR, "otto") as operator:
        [item] = (await dashboard(operator))["attention"]
        assert (await acknowledge(operator, item["key"])).status_code == 200
        taken = await operator.delete("/dashboard/attention/acknowledgements", params={"key": item["key"]})
        assert taken.status_code == 204, taken.text
        assert [a["key"] for a in (await dashboard(operator))["attention"]] == [item["key"]]
        again = await operator.delete("/dashboard/attention/acknowledgements", params={"key": item["key"]})
        assert again.status_code == 404
    [row] = await audit_rows(gateway, "attention.unacknowledge")
    assert (row.actor, row.target) == ("otto", "Volume scratch on h1 is not backed up by any enabled plan")


async def test_a_key_nothing_has_is_not_found(gateway: Gateway) -> None:
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        missing = await acknowledge(operator, "offline_host:nowhere")
    assert missing.status_code == 404
    assert "dealt with" in missing.json()["detail"]


async def test_a_viewer_cannot_acknowledge(gateway: Gateway) -> None:
    await add(gateway, host_row("h2", online=False, volumes=[]))
    async with logged_in_as(gateway, Role.VIEWER) as viewer:
        [item] = (await dashboard(viewer))["attention"]
        refused = await acknowledge(viewer, item["key"])
        assert refused.status_code == 403
        assert (await dashboard(viewer))["attention_total"] == 1
    assert await audit_rows(gateway, "attention.acknowledge") == []


async def test_a_failure_after_the_page_was_read_is_not_acknowledged_with_it(gateway: Gateway) -> None:
    await add(gateway, host_row("h1", online=True, volumes=[]))
    first = job_row("failed", "h1", hours_ago=3, resource_kind="volume", resource_name="db", error="disk full")
    await add(gateway, first)
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        [read] = (await dashboard(operator))["attention"]
        later = job_row("failed", "h1", hours_ago=1, resource_kind="volume", resource_name="db", error="disk full")
        await add(gateway, later)  # while the person reads the page
        taken = await operator.post(
            "/dashboard/attention/acknowledgements", json={"key": read["key"], "at": read["at"]}
        )
        assert taken.status_code == 200, taken.text
        [shown] = (await dashboard(operator))["attention"]
    assert shown["job_id"] == str(later.id)


async def test_an_acknowledged_missed_run_comes_back_with_a_later_missed_slot(gateway: Gateway) -> None:
    late = plan_row("late", "h1", volumes=["a"], cron="0 3 * * *")
    await add(gateway, host_row("h1", online=True, volumes=["a"]), late)
    await add(
        gateway,
        MissedRun(
            plan_id=late.id,
            scheduled_for=NOW - timedelta(hours=5),
            host_id="h1",
            reason="the scheduler was down",
            reported_at=NOW - timedelta(hours=4),
        ),
    )
    async with logged_in_as(gateway, Role.OPERATOR) as operator:
        [missed] = (await dashboard(operator))["attention"]
        assert missed["key"] == f"missed_run:{late.id}"
        assert (await acknowledge(operator, missed["key"])).status_code == 200
        assert (await dashboard(operator))["attention"] == []
        await add(
            gateway,
            MissedRun(
                plan_id=late.id,
                scheduled_for=NOW - timedelta(hours=1),
                host_id="h1",
                reason="the scheduler was down",
                reported_at=NOW - timedelta(minutes=50),
            ),
        )
        [again] = (await dashboard(operator))["attention"]
    assert (again["kind"], again["plan_name"]) == ("missed_run", "late")
