"""The transactional outbox: events written in the same transaction as the rows they announce."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class OutboxMessage(Base):
    """An event waiting to be published. `id` is its `Nats-Msg-Id`, so a relay that publishes it
    twice (crash after publish, before marking it) stores it once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "created_at", postgresql_where=text("published_at IS NULL")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
