"""The dashboard: one summary of every backup's state, read from the domains that own it
(hosts and coverage from resources, schedules from plans, jobs, the catalog)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.dashboard import repository
from dockback_gateway.dashboard.getting_started import getting_started
from dockback_gateway.dashboard.repository import KeptArchive
from dockback_gateway.dashboard.schemas import (
    AttentionItem,
    Dashboard,
    HostCounts,
    JobCounts,
    NextRun,
    PlanVerification,
    StorageDay,
)
from dockback_gateway.plans import repository as plans_repository
from dockback_gateway.plans.models import Plan
from dockback_gateway.plans.service import fire_times_in_zone
from dockback_gateway.resources import repository as resources_repository
from dockback_gateway.resources.schemas import Coverage, HostOut
from dockback_gateway.resources.service import ResourceViews
from dockback_runtime.words import byte_count

JOBS_WINDOW = timedelta(hours=24)
ATTENTION_WINDOW = timedelta(days=7)  # older failures and missed runs are history, not news
ATTENTION_LIMIT = 10
NEXT_RUNS = 10
STORAGE_DAYS = 30


class DashboardService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def summary(self) -> Dashboard:
        now = await resources_repository.database_now(self.db)
        views = ResourceViews(self.db)
        hosts = await views.hosts()
        coverage = await views.coverage()
        plans = await plans_repository.live_plans(self.db)
        counts = await repository.job_counts(self.db, now - JOBS_WINDOW)
        attention = await self._attention(now, hosts, coverage)
        checklist = await getting_started(self.db, hosts, plans, coverage.volumes.unprotected)
        if not checklist.complete:  # the checklist counts them instead
            attention = [item for item in attention if item.kind != "unprotected_volume"]
        return Dashboard(
            generated_at=now,
            hosts=HostCounts(online=sum(h.online for h in hosts), offline=sum(not h.online for h in hosts)),
            volumes=coverage.volumes,
            containers=coverage.containers,
            jobs_24h=JobCounts(
                succeeded=counts.get("succeeded", 0),
                failed=counts.get("failed", 0),
                cancelled=counts.get("cancelled", 0),
                running=counts.get("running", 0),
                queued=counts.get("queued", 0),
            ),
            next_runs=next_runs(plans, now, NEXT_RUNS),
            plans=await self._verifications(plans),
            storage=storage_by_day(
                await repository.archives_kept_between(self.db, _day_start(now) - timedelta(days=STORAGE_DAYS), now),
                now,
                STORAGE_DAYS,
            ),
            attention=attention[:ATTENTION_LIMIT],
            attention_total=len(attention),
            getting_started=checklist,
        )

    async def _verifications(self, plans: Sequence[Plan]) -> list[PlanVerification]:
        archives = await repository.plan_archives(self.db, [p.id for p in plans])
        return [
            PlanVerification(
                plan_id=plan.id,
                plan_name=plan.name,
                host_id=plan.host_id,
                enabled=plan.enabled,
                last_backup_at=archives[plan.id].last_backup_at,
                last_verified_at=archives[plan.id].last_verified_at,
                last_verified_artifact_id=archives[plan.id].last_verified_artifact_id,
            )
            for plan in plans
        ]

    async def _attention(self, now: datetime, hosts: Sequence[HostOut], coverage: Coverage) -> list[AttentionItem]:
        """Most important first: failures nobody has fixed, missed runs, offline hosts, hosts
        whose data dir is nearly full, then data no plan backs up. Failures and missed runs are
        capped at the list's length."""
        since = now - ATTENTION_WINDOW
        items = [
            AttentionItem(
                kind="failed_job",
                message=f"{job.kind.capitalize()} {_subject(plan_name, job.resource_kind, job.resource_name)} "
                f"failed: {job.error or 'no reason given'}",
                at=job.finished_at or job.created_at,
                host_id=job.host_id,
                job_id=job.id,
                job_kind=job.kind,
                plan_id=job.plan_id,
                plan_name=plan_name,
                resource_kind=job.resource_kind,
                resource_name=job.resource_name,
            )
            for job, plan_name in await repository.unresolved_failures(self.db, since, ATTENTION_LIMIT)
        ]
        items += [
            AttentionItem(
                kind="missed_run",
                message=f"Plan {slot.plan_name} missed {slot.missed_slots} run(s): {slot.reason}",
                at=slot.scheduled_for,
                host_id=slot.host_id,
                plan_id=slot.plan_id,
                plan_name=slot.plan_name,
            )
            for slot in await repository.unresolved_missed_runs(self.db, since, ATTENTION_LIMIT)
        ]
        items += [
            AttentionItem(
                kind="offline_host",
                message=f"Host {host.host_id} is offline: no heartbeat from its executor"
                + (" since it was first seen" if host.heartbeat_at is None else ""),
                at=host.heartbeat_at,
                host_id=host.host_id,
            )
            for host in hosts
            if not host.online
        ]
        items += [
            AttentionItem(kind="low_space", message=low_space_message(host), at=host.heartbeat_at, host_id=host.host_id)
            for host in hosts
            if host.data_dir_space_low
        ]
        items += [
            AttentionItem(
                kind="unprotected_volume",
                message=f"Volume {item.name} on {item.host_id} is not backed up by any enabled plan",
                at=None,
                host_id=item.host_id,
                resource_kind="volume",
                resource_name=item.name,
            )
            for item in coverage.unprotected
            if item.kind == "volume"
        ]
        return items


def low_space_message(host: HostOut) -> str:
    free, total = host.data_dir_free_bytes or 0, host.data_dir_total_bytes
    of_total = f" of {byte_count(total)} ({free / total:.0%})" if total else ""
    return (
        f"Free space low on host {host.host_id}: its data dir has {byte_count(free)} free{of_total}; "
        "backups fail when it is full"
    )


def next_runs(plans: Iterable[Plan], now: datetime, count: int) -> list[NextRun]:
    """The next fire time of each enabled plan in its own zone, the soonest `count`."""
    runs = []
    for plan in plans:
        if not plan.enabled or plan.deleted_at is not None:
            continue
        fire_times = fire_times_in_zone(plan.cron, plan.timezone, now, 1)
        if fire_times:
            runs.append(
                NextRun(
                    plan_id=plan.id,
                    plan_name=plan.name,
                    host_id=plan.host_id,
                    fires_at=fire_times[0],
                    timezone=plan.timezone,
                )
            )
    return sorted(runs, key=lambda run: (run.fires_at, run.plan_name.lower()))[:count]


def storage_by_day(archives: Iterable[KeptArchive], now: datetime, days: int) -> list[StorageDay]:
    """Bytes kept at the end of each of the last `days` UTC days (today: now), oldest first."""
    archives = list(archives)
    today = now.astimezone(UTC).date()
    out = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        at = min(_day_start_of(day + timedelta(days=1)), now)
        total = local = remote = 0
        for archive in archives:
            if archive.created_at > at or (archive.pruned_at is not None and archive.pruned_at <= at):
                continue
            total += archive.size_bytes
            local_gone_at = _local_gone_at(archive)
            if local_gone_at is None or local_gone_at > at:
                local += archive.size_bytes
            remote += sum(size for uploaded_at, size in archive.copies if uploaded_at <= at)
        out.append(StorageDay(day=day, total_bytes=total, local_bytes=local, remote_bytes=remote))
    return out


def _local_gone_at(archive: KeptArchive) -> datetime | None:
    """When the host's file went, for an archive not pruned: the uploader removes it once a
    remote copy is verified, so its first copy's time stands in for the unrecorded removal."""
    if archive.local_present or archive.pruned_at is not None:
        return None
    return archive.copies[0][0] if archive.copies else archive.created_at


def _subject(plan_name: str | None, resource_kind: str | None, resource_name: str | None) -> str:
    if resource_name is not None:
        return f"of {resource_kind} {resource_name}" + (f" (plan {plan_name})" if plan_name else "")
    return f"of plan {plan_name}" if plan_name else ""


def _day_start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day_start(now: datetime) -> datetime:
    return _day_start_of(now.astimezone(UTC).date())
