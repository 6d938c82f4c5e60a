"""Restore confirmations and the global restore lock."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class RestoreConfirmation(Base):
    """A preview's confirmation token (only its sha256 is stored), bound to one user and one
    plan of action (`action`: artifact, target, what is overwritten, which containers stop).
    Valid until `expires_at`, usable once."""

    __tablename__ = "restore_confirmations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column()
    username: Mapped[str] = mapped_column(String(64))
    artifact_id: Mapped[uuid.UUID] = mapped_column()
    host_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    job_id: Mapped[uuid.UUID | None] = mapped_column()


class RestoreLock(Base):
    """One row: whether restores are locked (an admin's safety switch)."""

    __tablename__ = "restore_lock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    locked: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime | None] = mapped_column()
