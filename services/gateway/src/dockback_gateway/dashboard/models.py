"""Acknowledgements of "needs attention" items: a person has seen the item and hides it until
something new happens in its series; the per-day changes of the bytes kept."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Identity, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class AttentionAcknowledgement(Base):
    """One series' acknowledgement (its key, see dashboard.attention); acknowledging again replaces it."""

    __tablename__ = "attention_acknowledgements"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    acknowledged_by: Mapped[str] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime] = mapped_column(server_default=func.now())
    message: Mapped[str] = mapped_column(Text)  # what the item said when it was acknowledged
    # The newest occurrence the acknowledgement covers (a failure, a missed slot, the last
    # heartbeat); None when the item had none (a host never heard from, an unprotected volume).
    through: Mapped[datetime | None] = mapped_column()
    # low_space: the free bytes measured then; the item comes back when free space halves again.
    free_bytes: Mapped[int | None] = mapped_column(BigInteger)


class StorageChange(Base):
    """A change of the bytes kept on one UTC day, written by the database's triggers on artifacts
    and artifact_copies (migration 0019, which says what counts); a day's rows add up to its change."""

    __tablename__ = "storage_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    day: Mapped[date] = mapped_column()
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    local_bytes: Mapped[int] = mapped_column(BigInteger)
    remote_bytes: Mapped[int] = mapped_column(BigInteger)
