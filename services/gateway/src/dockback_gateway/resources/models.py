"""What the executors report about their hosts: the latest inventory and heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class Host(Base):
    """A Docker host, as its executors last described it.

    `inventory` is the last `HostInventory` (JSON); a host is online while its last heartbeat
    is younger than a few heartbeat intervals.
    """

    __tablename__ = "hosts"

    host_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    inventory: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    inventory_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    heartbeat_interval_seconds: Mapped[float | None] = mapped_column()
    executor_version: Mapped[str | None] = mapped_column(String(64))
    running_job_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_dir_free_bytes: Mapped[int | None] = mapped_column(BigInteger)  # at the last heartbeat
    data_dir_total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column()
    executors: Mapped[int | None] = mapped_column()  # executor processes alive at the last heartbeat


class HostExecutor(Base):
    """One executor process of a host, by its last heartbeat. A host may run several (they share
    its work); `Host.running_job_ids` is the union of those alive, kept on every heartbeat."""

    __tablename__ = "host_executors"

    host_id: Mapped[str] = mapped_column(String(64), ForeignKey("hosts.host_id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" for executors that do not say
    heartbeat_at: Mapped[datetime] = mapped_column()
    interval_seconds: Mapped[float] = mapped_column()
    running_job_ids: Mapped[list[str]] = mapped_column(JSON)
