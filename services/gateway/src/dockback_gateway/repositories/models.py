"""A plan's restic repository on its host, and its password (encrypted at rest)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class Repository(Base):
    """A repository in a host's data dir (`repositories/<name>`). Its password is made here, at
    random, when a plan first needs the repository, and never changes: every snapshot in it is
    encrypted with a key that opens with it. A host's repositories travel to its executor only,
    sealed to its key; a repository is never removed with its plan (its snapshots may be all
    that is left of the data)."""

    __tablename__ = "repositories"

    host_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    plan_id: Mapped[uuid.UUID | None] = mapped_column()
    password: Mapped[bytes] = mapped_column(LargeBinary)  # ciphertext (`repository_password`)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
