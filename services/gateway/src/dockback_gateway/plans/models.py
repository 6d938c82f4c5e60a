"""Backup plans: what to back up on which host, when, and how long to keep it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class Plan(Base):
    """A plan. JSON columns hold the contract models' JSON form (`dockback_contracts`):
    `targets` a list of TargetSelector, `options` BackupOptions, `retention` RetentionPolicy,
    `local_copies` LocalCopies.

    A deleted plan keeps its row (`deleted_at`), so its jobs and artifacts still name it;
    its name is free again for a new plan.
    """

    __tablename__ = "plans"
    __table_args__ = (
        Index("uq_plans_live_name", text("lower(name)"), unique=True, postgresql_where=text("deleted_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    host_id: Mapped[str] = mapped_column(String(64), index=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    cron: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64))
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    upload_targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention: Mapped[dict[str, Any]] = mapped_column(JSON)
    # LocalCopies (0008): what stays in the host's data dir once the remote copies are verified
    local_copies: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=lambda: {"keep": "all", "last": 1}, server_default=text("""'{"keep": "all", "last": 1}'""")
    )
    verify_cron: Mapped[str | None] = mapped_column(String(255))
    missed_run_grace_seconds: Mapped[float] = mapped_column(default=3600.0)
    # Restores of this plan's archives may write setuid/setgid files (0012); only an admin sets it.
    restore_special_bits: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    revision: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column()
