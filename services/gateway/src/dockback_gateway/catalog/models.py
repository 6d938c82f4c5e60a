"""The artifact catalog: every archive a backup produced, where its copies are, and its checks."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class ArtifactState(StrEnum):
    AVAILABLE = "available"
    PRUNING = "pruning"  # a PruneRequested went out; marked pruned when the host confirms
    PRUNED = "pruned"


class Artifact(Base):
    """One archive (`ArchiveCreated`): a volume, a container's config or an image."""

    __tablename__ = "artifacts"
    __table_args__ = (Index("ix_artifacts_scope", "host_id", "plan_id", "resource_kind", "resource_name", "role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the artifact id of the contracts
    job_id: Mapped[uuid.UUID] = mapped_column(index=True)
    host_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    resource_kind: Mapped[str] = mapped_column(String(16))
    resource_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)  # relative to the host's data dir
    manifest_path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    raw_bytes: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    compression: Mapped[str] = mapped_column(String(8))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)  # the ArchiveCreated event as recorded
    created_at: Mapped[datetime] = mapped_column()  # when the archive was complete
    state: Mapped[str] = mapped_column(String(16), default=ArtifactState.AVAILABLE)
    local_present: Mapped[bool] = mapped_column(default=True)
    verified_at: Mapped[datetime | None] = mapped_column()
    verify_failed_at: Mapped[datetime | None] = mapped_column()
    verify_error: Mapped[str | None] = mapped_column(Text)
    prune_job_id: Mapped[uuid.UUID | None] = mapped_column()
    pruned_at: Mapped[datetime | None] = mapped_column()


class ArtifactCopy(Base):
    """A verified remote copy of an artifact (`UploadCompleted`)."""

    __tablename__ = "artifact_copies"

    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(16))
    uploaded_at: Mapped[datetime] = mapped_column()
