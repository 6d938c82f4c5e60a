"""The artifact catalog: every archive a backup produced, where its copies are, and its checks."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dockback_contracts.storage import VolumeStorage
from dockback_gateway.db import Base


class ArtifactState(StrEnum):
    AVAILABLE = "available"
    PRUNING = "pruning"  # a PruneRequested went out; marked pruned when the host confirms
    PRUNED = "pruned"


class ArtifactKind(StrEnum):
    """What an archive holds (the manifest's `kind`)."""

    VOLUME = "volume"
    BIND = "bind"
    CONFIG = "config"
    IMAGE = "image"


class ArtifactFormat(StrEnum):
    """What an artifact is: an archive file, or a snapshot in a restic repository (0021)."""

    ARCHIVE = "archive"
    REPOSITORY = "repository"


class Artifact(Base):
    """One archive (`ArchiveCreated`) of a volume, a container's config or an image, or one
    snapshot (`SnapshotCreated`) of a volume or an image in a restic repository of its host.

    A snapshot's `path` is its repository's directory in the data dir, `size_bytes` the data it
    added to the repository (what keeping it costs, before compression), `raw_bytes` the size of
    everything it holds; it has no sha256 of its own (restic checks its data by its hashes)."""

    __tablename__ = "artifacts"
    __table_args__ = (
        Index("ix_artifacts_scope", "host_id", "plan_id", "resource_kind", "resource_name", "role"),
        Index("ix_artifacts_created_id", "created_at", "id"),  # the catalog's order: newest first (0007)
        Index("ix_artifacts_prune_job_id", "prune_job_id"),  # a prune job's artifacts (0007)
        # the catalog's filters, each with its order (0016)
        Index("ix_artifacts_plan_created_id", "plan_id", "created_at", "id"),
        Index("ix_artifacts_host_created_id", "host_id", "created_at", "id"),
        Index("ix_artifacts_resource_created_id", "resource_name", "created_at", "id"),
        Index("ix_artifacts_state_created_id", "state", "created_at", "id"),
        Index("ix_artifacts_plan_verified", "plan_id", "verified_at", postgresql_where=text("verified_at IS NOT NULL")),
        # coverage: each series' newest archive not pruned, from the index alone (0017)
        Index(
            "ix_artifacts_live_series",
            "host_id",
            "resource_kind",
            "resource_name",
            "role",
            "created_at",
            postgresql_include=["verified_at"],
            postgresql_where=text("state <> 'pruned'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the artifact id of the contracts
    job_id: Mapped[uuid.UUID] = mapped_column(index=True)
    host_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[uuid.UUID | None] = mapped_column()
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
    # A snapshot's (0021): its repository on the host and restic's id for it; None for an archive.
    format: Mapped[str] = mapped_column(String(16), default=ArtifactFormat.ARCHIVE, server_default="archive")
    repository: Mapped[str | None] = mapped_column(String(128))
    snapshot_id: Mapped[str | None] = mapped_column(String(64))

    @property
    def kind(self) -> ArtifactKind:
        return kind_of(self.resource_kind, self.role)

    @property
    def storage(self) -> VolumeStorage | None:
        """For a volume's archive: the volume's driver and options as its host announced them
        (`ArchiveCreated.storage`); None when the archive is not a volume's or predates that."""
        recorded = (self.manifest or {}).get("storage")
        if self.kind != ArtifactKind.VOLUME or not isinstance(recorded, dict):
            return None
        try:
            return VolumeStorage.model_validate(recorded, strict=False)
        except ValidationError:
            return None

    @property
    def verified(self) -> bool:
        """Checked, and not failed a check since: a later failure outweighs an earlier success."""
        return self.verified_at is not None and (
            self.verify_failed_at is None or self.verify_failed_at <= self.verified_at
        )


def kind_of(resource_kind: str, role: str) -> ArtifactKind:
    """The manifest's `kind` from what the catalog stores: a volume's or an image's own archive
    is of its kind; a container's archives are its `config`, its `image`, a bind mount
    (`bind/<destination>`) or one of its volumes (the role is the volume's name)."""
    if resource_kind in (ArtifactKind.VOLUME, ArtifactKind.IMAGE):
        return ArtifactKind(resource_kind)
    if role in (ArtifactKind.CONFIG, ArtifactKind.IMAGE):
        return ArtifactKind(role)
    if role.startswith("bind/"):
        return ArtifactKind.BIND
    return ArtifactKind.VOLUME


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


class ArtifactVerification(Base):
    """A verify job and the artifact it checks (0007): how a verification's `JobFailed`, which
    names only the job, finds its artifact, and the artifact's history of checks."""

    __tablename__ = "artifact_verifications"

    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column()
    requested_by: Mapped[str | None] = mapped_column(String(64))  # None for a scheduled check
    scheduled_for: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(16))  # None while pending, then passed | failed
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
