"""Recording what executors report about their hosts: the latest inventory and heartbeat.

Each fact is an upsert that keeps the newest: an inventory or heartbeat older than the one
stored (a redelivery, two executors of one host reporting out of order) changes nothing.
Heartbeats are kept per executor process too (`HostExecutor`): a host's running jobs are those
of all its executors alive.
Times are the fact's `occurred_at`, but never later than the database's clock when it is
recorded: an executor whose clock runs ahead must not look alive after it stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import DateTime, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.jobs.liveness import MISSED_HEARTBEATS
from dockback_gateway.resources.models import Host, HostExecutor


def _not_after_now(event: ev.Event) -> Any:
    return func.least(literal(event.occurred_at, DateTime(timezone=True)), func.now())


async def record_inventory(db: AsyncSession, event: ev.HostInventory) -> None:
    """Keep `event` as the host's inventory unless a newer one is stored."""
    at = _not_after_now(event)
    inventory: dict[str, Any] = event.model_dump(mode="json")
    statement = insert(Host).values(
        host_id=event.host_id, inventory=inventory, inventory_at=at, running_job_ids=[], first_seen_at=func.now()
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[Host.host_id],
            set_={"inventory": statement.excluded.inventory, "inventory_at": statement.excluded.inventory_at},
            where=or_(Host.inventory_at.is_(None), Host.inventory_at < statement.excluded.inventory_at),
        )
    )


async def record_heartbeat(db: AsyncSession, event: ev.HostHeartbeat) -> None:
    """Keep `event` as its executor's and the host's last sign of life unless a newer one is
    stored. The host's running jobs are those of every executor of it still alive (a host may
    run several: one's heartbeat must not hide the jobs another runs)."""
    at = _not_after_now(event)
    statement = insert(Host).values(
        host_id=event.host_id,
        heartbeat_at=at,
        heartbeat_interval_seconds=event.interval_seconds,
        executor_version=event.executor_version,
        running_job_ids=[],
        data_dir_free_bytes=event.data_dir_free_bytes,
        data_dir_total_bytes=event.data_dir_total_bytes,
        first_seen_at=func.now(),
    )
    excluded = statement.excluded
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[Host.host_id],
            set_={
                "heartbeat_at": excluded.heartbeat_at,
                "heartbeat_interval_seconds": excluded.heartbeat_interval_seconds,
                "executor_version": excluded.executor_version,
                "data_dir_free_bytes": excluded.data_dir_free_bytes,
                "data_dir_total_bytes": excluded.data_dir_total_bytes,
            },
            where=or_(Host.heartbeat_at.is_(None), Host.heartbeat_at < excluded.heartbeat_at),
        )
    )
    instance = insert(HostExecutor).values(
        host_id=event.host_id,
        instance_id=event.executor_instance or "",
        heartbeat_at=at,
        interval_seconds=event.interval_seconds,
        running_job_ids=[str(job_id) for job_id in event.running_job_ids],
    )
    await db.execute(
        instance.on_conflict_do_update(
            index_elements=[HostExecutor.host_id, HostExecutor.instance_id],
            set_={
                "heartbeat_at": instance.excluded.heartbeat_at,
                "interval_seconds": instance.excluded.interval_seconds,
                "running_job_ids": instance.excluded.running_job_ids,
            },
            where=HostExecutor.heartbeat_at < instance.excluded.heartbeat_at,
        )
    )
    # An executor is alive while its heartbeats keep coming (as a host is online); one gone for
    # a day is forgotten.
    age = func.now() - HostExecutor.heartbeat_at
    await db.execute(delete(HostExecutor).where(HostExecutor.host_id == event.host_id, age > timedelta(days=1)))
    alive = (
        (
            await db.execute(
                select(HostExecutor.running_job_ids).where(
                    HostExecutor.host_id == event.host_id,
                    age <= HostExecutor.interval_seconds * timedelta(seconds=MISSED_HEARTBEATS),
                )
            )
        )
        .scalars()
        .all()
    )
    running = sorted({str(job_id) for ids in alive for job_id in ids})
    await db.execute(
        update(Host).where(Host.host_id == event.host_id).values(running_job_ids=running, executors=len(alive))
    )
