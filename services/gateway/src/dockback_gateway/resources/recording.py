"""Recording what executors report about their hosts: the latest inventory and heartbeat.

Each fact is an upsert that keeps the newest: an inventory or heartbeat older than the one
stored (a redelivery, two executors of one host reporting out of order) changes nothing.
Times are the fact's `occurred_at`, but never later than the database's clock when it is
recorded: an executor whose clock runs ahead must not look alive after it stopped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, func, literal, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.resources.models import Host


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
    """Keep `event` as the host's last sign of life unless a newer one is stored."""
    at = _not_after_now(event)
    statement = insert(Host).values(
        host_id=event.host_id,
        heartbeat_at=at,
        heartbeat_interval_seconds=event.interval_seconds,
        executor_version=event.executor_version,
        running_job_ids=[str(job_id) for job_id in event.running_job_ids],
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
                "running_job_ids": excluded.running_job_ids,
                "data_dir_free_bytes": excluded.data_dir_free_bytes,
                "data_dir_total_bytes": excluded.data_dir_total_bytes,
            },
            where=or_(Host.heartbeat_at.is_(None), Host.heartbeat_at < excluded.heartbeat_at),
        )
    )
