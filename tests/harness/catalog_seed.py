"""A full catalog written straight into a migrated database with COPY: plans, hosts with their
inventories (each plan's volumes mounted by a container of its own, a few volumes no plan names,
some images), 90 days of jobs with their log lines, artifacts with remote copies and checks, and
a hash-chained audit log. Used by bench/api_catalog.py (1,000 plans, 50 hosts, 100,000 jobs, 300,000 artifacts at
scale 1) and, at a small scale, by tests/gateway/test_list_queries.py.

Distributions: jobs evenly over the last 90 days (a few still open in the last hour), mostly
backups that succeeded; each succeeded backup left an archive per resource of its plan; archives
older than the plan's retention are pruned; most newer ones have a remote copy and a third are
verified. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dockback_contracts.events import HostInventory
from dockback_contracts.inventory import ContainerInfo, EngineInfo, ImageInfo, MountInfo, VolumeInfo, VolumeUser
from dockback_gateway.audit.service import GENESIS, entry_hash

DAYS = 90
FULL = {"plans": 1000, "hosts": 50, "jobs": 100_000, "artifacts": 300_000, "audit": 50_000}
LOG_LINES_PER_JOB = 3
BACKUP = "backup_requested.v1"
DELETE = "delete_requested.v1"
AUDIT_ACTIONS = (
    "login",
    "login",
    "login",
    "logout",
    "plan.create",
    "plan.update",
    "job.run",
    "artifact.verify",
    "restore.confirm",
    "settings.update",
)
_CHAIN_LOCK = 0x0D0CBAC  # the gateway's audit chain lock (audit/service.py)


@dataclass(frozen=True)
class Seeded:
    """What was written, and names a caller can filter on."""

    plans: int
    hosts: int
    jobs: int
    log_lines: int
    artifacts: int
    copies: int
    audit: int
    host_ids: list[str]
    plan_ids: list[uuid.UUID]
    resource_names: list[str]
    actors: list[str]


def counts_at(scale: float) -> dict[str, int]:
    return {name: max(2, round(count * scale)) for name, count in FULL.items()}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _inventory(host_id: str, plans: list[tuple[int, list[str]]], now: datetime) -> dict[str, Any]:
    """What the host's executor reports: each plan's volumes, mounted by a container of its own,
    three volumes no plan names, and a few images."""
    extra = [f"scratch-{host_id}-{k}" for k in range(3)]
    volumes = [
        VolumeInfo(
            name=name,
            driver="local",
            size_bytes=2**30,
            used_by=(VolumeUser(container_id=f"app-{n:04d}", container_name=f"app-{n:04d}", running=True),),
        )
        for n, resources in plans
        for name in resources
    ] + [VolumeInfo(name=name, driver="local", size_bytes=2**20) for name in extra]
    containers = [
        ContainerInfo(
            id=f"app-{n:04d}",
            name=f"app-{n:04d}",
            image="app:latest",
            image_id="sha256:" + f"{n:064x}"[-64:],
            state="running",
            labels={"com.example.tier": "web" if n % 2 else "db"},
            mounts=tuple(
                MountInfo(type="volume", source=name, destination=f"/data/{name}", read_only=False)
                for name in resources
            ),
        )
        for n, resources in plans
    ]
    images = [ImageInfo(id="sha256:" + f"{k:064x}", tags=(f"app:{k}",), size_bytes=100 * 2**20) for k in range(5)]
    inventory = HostInventory(
        host_id=host_id,
        engine=EngineInfo(engine_id=f"engine-{host_id}", version="27.5.1", api_version="1.47", os="linux"),
        containers=tuple(containers),
        volumes=tuple(volumes),
        images=tuple(images),
        occurred_at=now,
    )
    return inventory.model_dump(mode="json")


async def seed_catalog(dsn: str, scale: float = 1.0, *, seed: int = 16) -> Seeded:
    """Write the catalog at `scale` (1.0 = the issue's full catalog) and ANALYZE the tables.
    `dsn` is a libpq/asyncpg URL (postgresql://...)."""
    rng = random.Random(seed)
    counts = counts_at(scale)
    conn = await asyncpg.connect(dsn)
    try:
        now = await conn.fetchval("SELECT now()")
        start = now - timedelta(days=DAYS)
        async with conn.transaction():
            seeded = await _write(conn, rng, counts, now, start)
        for table in ("plans", "hosts", "jobs", "job_events", "artifacts", "artifact_copies", "audit_log"):
            await conn.execute(f"ANALYZE {table}")
        return seeded
    finally:
        await conn.close()


async def _write(
    conn: asyncpg.Connection, rng: random.Random, counts: dict[str, int], now: datetime, start: datetime
) -> Seeded:
    host_ids = [f"host-{n:03d}" for n in range(counts["hosts"])]

    plans = []  # (id, host, resources, keep_days)
    plan_rows = []
    for n in range(counts["plans"]):
        plan_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        host = host_ids[n % len(host_ids)]
        resources = [f"vol-{n:04d}-{k}" for k in range(rng.randint(2, 5))]
        keep_days = rng.choice((7, 14, 30))
        plans.append((plan_id, host, resources, keep_days))
        targets = [{"kind": "volume", "names": resources, "label_selector": {}, "compose_project": None}]
        options = {
            "compression": "zstd",
            "compression_level": None,
            "stop_containers": False,
            "pre_commands": [],
            "post_commands": [],
            "include_image": False,
            "include_bind_mounts": False,
        }
        retention = {
            "keep_last": keep_days,
            "keep_daily": 0,
            "keep_weekly": 0,
            "keep_monthly": 0,
            "keep_yearly": 0,
            "keep_within_seconds": 0,
            "keep_minimum": 1,
        }
        plan_rows.append(
            (
                plan_id,
                f"plan {n:04d}",
                host,
                n % 10 != 0,
                f"{n % 60} {n % 24} * * *",
                "UTC",
                _json(targets),
                _json(options),
                '["s3-main"]',
                _json(retention),
                '{"keep":"all","last":1}',
                "30 5 * * 0" if n % 3 == 0 else None,
                3600.0,
                False,
                1,
                "admin",
                start,
                start,
                None,
            )
        )
    await conn.copy_records_to_table(
        "hosts",
        columns=[
            "host_id",
            "inventory",
            "inventory_at",
            "heartbeat_at",
            "heartbeat_interval_seconds",
            "executor_version",
            "running_job_ids",
            "data_dir_free_bytes",
            "data_dir_total_bytes",
            "first_seen_at",
        ],
        records=[
            (
                h,
                _json(
                    _inventory(h, [(n, resources) for n, (_, host, resources, _) in enumerate(plans) if host == h], now)
                ),
                now - timedelta(seconds=rng.randint(30, 300)),
                now - timedelta(seconds=rng.randint(0, 20)),
                30.0,
                "bench",
                "[]",
                rng.randint(200, 900) * 2**30,
                1000 * 2**30,
                start,
            )
            for h in host_ids
        ],
    )

    await conn.copy_records_to_table(
        "plans",
        columns=[
            "id",
            "name",
            "host_id",
            "enabled",
            "cron",
            "timezone",
            "targets",
            "options",
            "upload_targets",
            "retention",
            "local_copies",
            "verify_cron",
            "missed_run_grace_seconds",
            "restore_special_bits",
            "revision",
            "created_by",
            "created_at",
            "updated_at",
            "deleted_at",
        ],
        records=plan_rows,
    )

    span = (now - start).total_seconds()
    job_rows, log_rows, backups = [], [], []
    deletes: list[uuid.UUID] = []
    for _ in range(counts["jobs"]):
        job_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        plan_id, host, resources, keep_days = rng.choice(plans)
        created = start + timedelta(seconds=rng.random() * span)
        kind = rng.choices(("backup", "verify", "prune", "restore"), (80, 10, 8, 2))[0]
        recent = now - created < timedelta(hours=1)
        status = rng.choices(
            ("succeeded", "failed", "cancelled", "running", "queued"),
            (90, 7, 1, 1 if recent else 0, 1 if recent else 0),
        )[0]
        finished = status in ("succeeded", "failed", "cancelled")
        started = created + timedelta(seconds=rng.randint(1, 30))
        ended = started + timedelta(seconds=rng.randint(5, 900)) if finished else None
        resource = rng.choice(resources) if kind != "backup" else None
        request_type = {"backup": BACKUP, "verify": "verify_requested.v1", "restore": "restore_requested.v1"}.get(
            kind, DELETE if rng.random() < 0.1 else "prune_requested.v1"
        )
        if request_type == DELETE and status == "succeeded":
            deletes.append(job_id)
        error = "volume is in use by a running container" if status == "failed" else None
        job_rows.append(
            (
                job_id,
                kind,
                host,
                plan_id,
                status,
                status if not finished else "done",
                "volume" if resource else None,
                resource,
                _json({"type": request_type, "job_id": str(job_id)}),
                created if kind == "backup" else None,
                None if kind == "backup" else "admin",
                1,
                0,
                None,
                rng.randint(1, 2**30) if finished else 0,
                None,
                error,
                False if error else None,
                None,
                created,
                started,
                ended,
                ended or started,
                None,
                None,
            )
        )
        for line, (event_type, message) in enumerate(
            (
                ("job_started.v1", f"started on {host}"),
                ("job_progress.v1", "archiving"),
                ("job_succeeded.v1" if status == "succeeded" else "job_failed.v1", status),
            )[:LOG_LINES_PER_JOB]
        ):
            at = started + timedelta(seconds=line)
            log_rows.append((job_id, uuid.UUID(int=rng.getrandbits(128), version=4), event_type, at, at, message, "{}"))
        if kind == "backup" and status == "succeeded":
            backups.append((job_id, plan_id, host, resources, keep_days, ended))
    await conn.copy_records_to_table(
        "jobs",
        columns=[
            "id",
            "kind",
            "host_id",
            "plan_id",
            "status",
            "phase",
            "resource_kind",
            "resource_name",
            "request",
            "scheduled_for",
            "requested_by",
            "attempts",
            "republished",
            "republished_at",
            "bytes_done",
            "bytes_total",
            "error",
            "retryable",
            "cancel_requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "last_event_at",
            "upload_targets",
            "archives_done_at",
        ],
        records=job_rows,
    )
    await conn.copy_records_to_table(
        "job_events",
        columns=["job_id", "event_id", "type", "occurred_at", "recorded_at", "message", "data"],
        records=log_rows,
    )

    artifact_rows, copy_rows = [], []
    per_backup = max(1, -(-counts["artifacts"] // max(1, len(backups))))
    all_resources: set[str] = set()
    for job_id, plan_id, host, resources, keep_days, made in backups:
        for resource in (resources * per_backup)[:per_backup]:
            if len(artifact_rows) >= counts["artifacts"]:
                break
            all_resources.add(resource)
            artifact_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            size = rng.randint(2**20, 2**32)
            expired = now - made > timedelta(days=keep_days)
            deleted = not expired and deletes and rng.random() < 0.01
            state = "pruned" if expired or deleted else "available"
            pruned_at = made + timedelta(days=keep_days) if expired else (now - timedelta(hours=1) if deleted else None)
            copied = rng.random() < 0.8
            verified_at = made + timedelta(hours=rng.randint(1, 48)) if rng.random() < 0.33 else None
            verified_at = verified_at if verified_at is None or verified_at < now else None
            failed_at = made + timedelta(hours=1) if verified_at is None and rng.random() < 0.02 else None
            path = f"{host}/{plan_id}/{resource}/{made:%Y%m%dT%H%M%S}.tar.zst"
            artifact_rows.append(
                (
                    artifact_id,
                    job_id,
                    host,
                    plan_id,
                    "volume",
                    resource,
                    resource,
                    path,
                    path + ".json",
                    size,
                    size * 3,
                    rng.randint(10, 100_000),
                    f"{rng.getrandbits(256):064x}",
                    "zstd",
                    _json({"type": "archive_created.v1", "resource_name": resource}),
                    made,
                    state,
                    not copied or rng.random() < 0.5,
                    verified_at,
                    failed_at,
                    "checksum mismatch" if failed_at else None,
                    rng.choice(deletes) if deleted else None,
                    pruned_at,
                )
            )
            if copied:
                copy_rows.append(
                    (
                        artifact_id,
                        "s3-main",
                        "backups",
                        path,
                        size,
                        f"{rng.getrandbits(256):064x}",
                        "sha256",
                        made + timedelta(minutes=rng.randint(1, 30)),
                    )
                )
    await conn.copy_records_to_table(
        "artifacts",
        columns=[
            "id",
            "job_id",
            "host_id",
            "plan_id",
            "resource_kind",
            "resource_name",
            "role",
            "path",
            "manifest_path",
            "size_bytes",
            "raw_bytes",
            "file_count",
            "sha256",
            "compression",
            "manifest",
            "created_at",
            "state",
            "local_present",
            "verified_at",
            "verify_failed_at",
            "verify_error",
            "prune_job_id",
            "pruned_at",
        ],
        records=artifact_rows,
    )
    await conn.copy_records_to_table(
        "artifact_copies",
        columns=["artifact_id", "target_id", "bucket", "key", "size_bytes", "sha256", "verified_by", "uploaded_at"],
        records=copy_rows,
    )

    actors = ["admin", *(f"user{n:02d}" for n in range(20))]
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(counts["audit"]))
    # the seeded entries end before any the gateway wrote already, so the chain stays in order of time too
    last_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    audit_rows = []
    for at in times:
        at = min(at, now - timedelta(minutes=10)).replace(microsecond=0)
        fields = {
            "at": at.astimezone(UTC).isoformat(),
            "actor": rng.choice(actors),
            "action": rng.choice(AUDIT_ACTIONS),
            "target": None,
            "outcome": "failure" if rng.random() < 0.05 else "success",
            "ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "user_agent": "Mozilla/5.0 (bench)",
            "details": {},
        }
        digest = entry_hash(prev, fields)
        last_id += 1
        audit_rows.append(
            (
                last_id,
                at,
                fields["actor"],
                fields["action"],
                None,
                fields["outcome"],
                fields["ip"],
                fields["user_agent"],
                "{}",
                prev,
                digest,
            )
        )
        prev = digest
    await conn.copy_records_to_table(
        "audit_log",
        columns=[
            "id",
            "at",
            "actor",
            "action",
            "target",
            "outcome",
            "ip",
            "user_agent",
            "details",
            "prev_hash",
            "hash",
        ],
        records=audit_rows,
    )
    await conn.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), $1)", last_id)
    return Seeded(
        plans=len(plan_rows),
        hosts=len(host_ids),
        jobs=len(job_rows),
        log_lines=len(log_rows),
        artifacts=len(artifact_rows),
        copies=len(copy_rows),
        audit=len(audit_rows),
        host_ids=host_ids,
        plan_ids=[plan[0] for plan in plans],
        resource_names=sorted(all_resources),
        actors=actors,
    )
