"""The dashboard: one summary of every backup's state, read from the domains that own it
(hosts and coverage from resources, schedules from plans, jobs, the catalog)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.dashboard import attention, repository
from dockback_gateway.dashboard.getting_started import getting_started
from dockback_gateway.dashboard.models import AttentionAcknowledgement
from dockback_gateway.dashboard.repository import KeptArchive
from dockback_gateway.dashboard.schemas import (
    Acknowledgement,
    AttentionItem,
    Dashboard,
    HostCounts,
    JobCounts,
    NextRun,
    PlanVerification,
    StorageDay,
)
from dockback_gateway.errors import NotFound
from dockback_gateway.jobs.models import Job
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
ROWS_READ = 1000  # failures and missed runs read to group and to leave out the acknowledged, before the cut
NEXT_RUNS = 10
STORAGE_DAYS = 30
STORAGE_ROWS_UNFOLDED = 1000  # storage changes written since they were last folded into one row a day


class DashboardService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def summary(self) -> Dashboard:
        now = await resources_repository.database_now(self.db)
        views = ResourceViews(self.db)
        hosts = await views.hosts()
        coverage = await views.coverage()
        plans = await plans_repository.live_plans(self.db, schedule_only=True)
        counts = await repository.job_counts(self.db, now - JOBS_WINDOW)
        items = await self._attention(now, hosts, coverage)
        checklist = await getting_started(self.db, hosts, plans, coverage.volumes.unprotected)
        shown = items.shown
        if not checklist.complete:  # the checklist counts them instead
            shown = [line for line in shown if line.item.kind != "unprotected_volume"]
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
            storage=await self._storage(now, STORAGE_DAYS),
            attention=[line.item for line in shown[:ATTENTION_LIMIT]],
            attention_total=len(shown),
            acknowledged=[_acknowledged(line.item, line.acks) for line in items.hidden[:ATTENTION_LIMIT]],
            acknowledged_total=len(items.hidden),
            getting_started=checklist,
        )

    async def _storage(self, now: datetime, days: int) -> list[StorageDay]:
        """What storage_by_day gives for every archive, from the per-day changes the database
        records as archives and copies are written: a few rows a day, whatever the catalog holds.
        Today counts each change of today (also one a host whose clock runs ahead stamped later
        than now). Folds the rows into one a day once many have been written since the last time."""
        today = now.astimezone(UTC).date()
        first_day = today - timedelta(days=days - 1)
        changes, rows = await repository.storage_changes(self.db)
        if rows > len(changes) + STORAGE_ROWS_UNFOLDED:
            await repository.compact_storage_changes(self.db)
        total = local = remote = 0
        for day, change in changes.items():
            if day < first_day:
                total, local, remote = total + change[0], local + change[1], remote + change[2]
        out = []
        for n in range(days):
            day = first_day + timedelta(days=n)
            change = changes.get(day, (0, 0, 0))
            total, local, remote = total + change[0], local + change[1], remote + change[2]
            out.append(StorageDay(day=day, total_bytes=total, local_bytes=local, remote_bytes=remote))
        return out

    async def _verifications(self, plans: Sequence[Plan]) -> list[PlanVerification]:
        archives = await repository.plan_archives(self.db, [p.id for p in plans])
        # Rows of the database's own types, a line per live plan: not validated again (validating
        # 1,000 of them was a tenth of the dashboard's time).
        return [
            PlanVerification.model_construct(
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

    async def _attention(self, now: datetime, hosts: Sequence[HostOut], coverage: Coverage) -> Attention:
        """Most important first: failures nobody has fixed (repeats of one cause as one line),
        missed runs, offline hosts, hosts whose data dir is nearly full, then data no plan backs
        up; split into those shown and those an acknowledgement hides."""
        since = now - ATTENTION_WINDOW
        acks = await repository.acknowledgements(self.db)
        failures = await repository.unresolved_failures(self.db, since, ROWS_READ)
        lines = failure_lines(failures, acks)
        for slot in await repository.unresolved_missed_runs(self.db, since, ROWS_READ):
            key = attention.missed_run_key(slot.plan_id)
            item = AttentionItem(
                key=key,
                kind="missed_run",
                message=f"Plan {slot.plan_name} missed {slot.missed_slots} run(s): "
                f"{attention.short_reason(slot.reason)}",
                at=slot.scheduled_for,
                host_id=slot.host_id,
                plan_id=slot.plan_id,
                plan_name=slot.plan_name,
            )
            lines.append(Line(item, through=slot.scheduled_for, acks=_covering([acks.get(key)], slot.scheduled_for)))
        for host in hosts:
            if host.online:
                continue
            key = attention.offline_host_key(host.host_id)
            item = AttentionItem(
                key=key,
                kind="offline_host",
                message=f"Host {host.host_id} is offline: no heartbeat from its executor"
                + (" since it was first seen" if host.heartbeat_at is None else ""),
                at=host.heartbeat_at,
                host_id=host.host_id,
            )
            lines.append(Line(item, through=host.heartbeat_at, acks=_covering([acks.get(key)], host.heartbeat_at)))
        for host in hosts:
            if not host.data_dir_space_low:
                continue
            key = attention.low_space_key(host.host_id)
            free = host.data_dir_free_bytes or 0
            item = AttentionItem(
                key=key, kind="low_space", message=low_space_message(host), at=host.heartbeat_at, host_id=host.host_id
            )
            ack = acks.get(key)
            # Free space has no start time: the acknowledgement holds while no more than half of
            # what was free then has gone since.
            holds = ack is not None and ack.free_bytes is not None and free * 2 >= ack.free_bytes
            lines.append(Line(item, through=host.heartbeat_at, free_bytes=free, acks=(ack,) if holds and ack else ()))
        for resource in coverage.unprotected:
            if resource.kind != "volume":
                continue
            key = attention.unprotected_volume_key(resource.host_id, resource.name)
            item = AttentionItem(
                key=key,
                kind="unprotected_volume",
                message=f"Volume {resource.name} on {resource.host_id} is not backed up by any enabled plan",
                at=None,
                host_id=resource.host_id,
                resource_kind="volume",
                resource_name=resource.name,
            )
            # Nothing new can happen to a volume left out: acknowledged, it is left out on purpose.
            ack = acks.get(key)
            lines.append(Line(item, through=None, acks=(ack,) if ack else ()))
        return Attention(shown=[line for line in lines if not line.acks], hidden=[line for line in lines if line.acks])

    async def acknowledge(
        self, key: str, username: str, origin: Origin, seen_at: datetime | None = None
    ) -> Acknowledgement:
        """Hide an item until something new happens in its series (see schemas.Acknowledge); audited.
        404 when no item has that key now (dealt with since the page was read)."""
        found = await self._line(key)
        if found.acks and any(ack.key == key for ack in found.acks):
            ack = next(ack for ack in found.acks if ack.key == key)
        else:
            through = found.through
            if through is not None and seen_at is not None:
                through = min(through, seen_at)
            ack = await repository.acknowledge(self.db, key, username, found.item.message, through, found.free_bytes)
            await record(
                self.db,
                action="attention.acknowledge",
                outcome="success",
                actor=username,
                origin=origin,
                target=found.item.message[:255],
                details={"key": key, "kind": found.item.kind, "count": found.item.count},
            )
        return Acknowledgement(
            key=ack.key, message=ack.message, acknowledged_by=ack.acknowledged_by, acknowledged_at=ack.acknowledged_at
        )

    async def unacknowledge(self, key: str, username: str, origin: Origin) -> None:
        """Take back the acknowledgements that hide the item `key`, so it shows again; audited."""
        attention_now = await self._attention_now()
        hidden = next((line for line in attention_now.hidden if line.item.key == key), None)
        keys = [ack.key for ack in hidden.acks] if hidden else [key]
        if not await repository.forget_acknowledgements(self.db, keys):
            raise NotFound(f"no acknowledgement hides an item with the key {key!r}")
        await record(
            self.db,
            action="attention.unacknowledge",
            outcome="success",
            actor=username,
            origin=origin,
            target=(hidden.item.message if hidden else key)[:255],
            details={"key": key, "acknowledgements": keys},
        )

    async def _line(self, key: str) -> Line:
        attention_now = await self._attention_now()
        for line in (*attention_now.shown, *attention_now.hidden):
            if line.item.key == key:
                return line
        raise NotFound(
            f"nothing that needs attention has the key {key!r} now: it may have been dealt with; reload the dashboard"
        )

    async def _attention_now(self) -> Attention:
        now = await resources_repository.database_now(self.db)
        views = ResourceViews(self.db)
        return await self._attention(now, await views.hosts(), await views.coverage())


@dataclass(frozen=True)
class Line:
    """One item, the newest occurrence it stands for, and the acknowledgements that hide it."""

    item: AttentionItem
    through: datetime | None
    free_bytes: int | None = None
    acks: tuple[AttentionAcknowledgement, ...] = ()


@dataclass(frozen=True)
class Attention:
    shown: list[Line]
    hidden: list[Line]


def _covering(
    acks: Iterable[AttentionAcknowledgement | None], at: datetime | None
) -> tuple[AttentionAcknowledgement, ...]:
    """The acknowledgements that cover an occurrence at `at`: made when it (or a later one)
    had happened already. An item with no time is covered by any acknowledgement of it."""
    return tuple(
        ack for ack in acks if ack is not None and (at is None or (ack.through is not None and at <= ack.through))
    )


def failure_lines(
    failures: Iterable[tuple[Job, str | None]], acks: Mapping[str, AttentionAcknowledgement]
) -> list[Line]:
    """Failed jobs as lines, newest first: the failures of one kind and cause that are shown
    (and, apart, those acknowledged) as one line when there are several."""
    groups: dict[tuple[bool, str, str], list[tuple[Job, str | None, tuple[AttentionAcknowledgement, ...]]]] = {}
    for job, plan_name in failures:
        at = job.finished_at or job.created_at
        series = attention.failure_key(
            job.kind, job.plan_id, job.host_id, job.resource_kind, job.resource_name, job.error
        )
        group = attention.failure_group_key(job.kind, job.error)
        covering = _covering([acks.get(series), acks.get(group)], at)
        groups.setdefault((bool(covering), job.kind, group), []).append((job, plan_name, covering))
    lines = []
    for (_, kind, group_key), members in groups.items():
        members.sort(key=lambda member: member[0].finished_at or member[0].created_at, reverse=True)
        job, plan_name, covering = members[0]
        at = job.finished_at or job.created_at
        if len(members) == 1:
            item = AttentionItem(
                key=attention.failure_key(
                    job.kind, job.plan_id, job.host_id, job.resource_kind, job.resource_name, job.error
                ),
                kind="failed_job",
                message=f"{job.kind.capitalize()} {attention.subject(plan_name, job.resource_kind, job.resource_name)} "
                f"failed: {attention.short_reason(job.error)}",
                at=at,
                host_id=job.host_id,
                job_id=job.id,
                job_kind=job.kind,
                plan_id=job.plan_id,
                plan_name=plan_name,
                resource_kind=job.resource_kind,
                resource_name=job.resource_name,
            )
        else:
            hosts = {member[0].host_id for member in members}
            plans = {(member[0].plan_id, member[1]) for member in members}
            (plan_id, one_plan_name) = next(iter(plans)) if len(plans) == 1 else (None, None)
            item = AttentionItem(
                key=group_key,
                kind="failed_job",
                message=attention.group_message(
                    kind, job.error, _distinct(_named(m[0], m[1], len(hosts) > 1) for m in members)
                ),
                count=len(members),
                at=at,
                host_id=next(iter(hosts)) if len(hosts) == 1 else None,
                job_kind=kind,
                plan_id=plan_id,
                plan_name=one_plan_name,
            )
        acks_of_all = tuple({ack.key: ack for member in members for ack in member[2]}.values())
        lines.append(Line(item, through=at, acks=acks_of_all))
    return sorted(lines, key=lambda line: line.through or datetime.min.replace(tzinfo=UTC), reverse=True)


def _acknowledged(item: AttentionItem, acks: Sequence[AttentionAcknowledgement]) -> AttentionItem:
    """The item with who acknowledged it last and when."""
    if not acks:
        return item
    newest = max(acks, key=lambda ack: ack.acknowledged_at)
    return item.model_copy(
        update={"acknowledged_by": newest.acknowledged_by, "acknowledged_at": newest.acknowledged_at}
    )


def _named(job: Job, plan_name: str | None, with_host: bool) -> str:
    """What a grouped line names of one failure: its resource, else its plan (and its host when
    the line spans hosts)."""
    name = job.resource_name or (f"plan {plan_name}" if plan_name else job.kind)
    return f"{name} on {job.host_id}" if with_host else name


def _distinct(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


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


def _day_start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
