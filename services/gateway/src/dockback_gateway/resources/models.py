"""What the executors report about their hosts: the latest inventory and heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
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
