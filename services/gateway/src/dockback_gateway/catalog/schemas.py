"""Request and response bodies of the /artifacts routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dockback_contracts.snapshots import RetentionPolicy

ArtifactStateName = Literal["available", "pruning", "pruned"]
ResourceKindName = Literal["volume", "container", "image"]


class ResourceOut(BaseModel):
    kind: ResourceKindName
    name: str


class CopyOut(BaseModel):
    """A verified copy in an S3 target."""

    target_id: str = Field(description="The S3 target (settings) holding the copy.")
    bucket: str
    key: str
    size_bytes: int
    sha256: str
    verified_by: Literal["metadata", "full-read"] = Field(
        description="How the uploader checked the copy: object metadata, or reading it back in full."
    )
    uploaded_at: datetime


class ArtifactOut(BaseModel):
    """One archive or snapshot in the catalog."""

    id: uuid.UUID
    job_id: uuid.UUID = Field(description="The backup job that made it.")
    host_id: str
    plan_id: uuid.UUID | None = Field(description="None for an ad-hoc backup (never pruned by retention).")
    resource: ResourceOut = Field(description="What was backed up (a container for its config, image and volumes).")
    role: str = Field(description="Which part of the resource: a volume's name, 'config', 'image' or 'bind/<path>'.")
    kind: Literal["volume", "bind", "config", "image"] = Field(description="What the archive holds.")
    format: Literal["archive", "repository"] = Field(
        default="archive", description="archive: a tar archive file; repository: a snapshot in a restic repository."
    )
    repository: str | None = Field(default=None, description="A snapshot's repository on its host.")
    snapshot_id: str | None = Field(default=None, description="A snapshot's restic id.")
    path: str = Field(description="Path of the archive (or a snapshot's repository) relative to the host's data dir.")
    size_bytes: int = Field(
        description="Stored size (compressed); for a snapshot, the new data it added to its repository (what "
        "keeping it costs after deduplication)."
    )
    raw_bytes: int = Field(description="Size before compression; for a snapshot, the size of all it holds.")
    file_count: int
    sha256: str = Field(description="Of the stored bytes; empty for a snapshot (restic checks its data by hash).")
    compression: Literal["zstd", "gzip", "none"]
    created_at: datetime = Field(description="When the archive was complete on the host.")
    state: ArtifactStateName = Field(
        description="available; pruning: retention (or a person, with DELETE) asked the host to delete it; "
        "pruned: the host deleted it."
    )
    local_present: bool = Field(description="Whether the host's data dir still holds it.")
    verified: bool = Field(description="Checked, and no check has failed since.")
    verified_at: datetime | None = Field(description="The last successful check.")
    verify_failed_at: datetime | None = Field(description="The last failed check, if after the last success.")
    verify_error: str | None
    pruned_at: datetime | None
    copies: int = Field(description="How many verified remote copies exist.")


class VerificationOut(BaseModel):
    """One check of the artifact (a verify job)."""

    job_id: uuid.UUID
    requested_at: datetime
    requested_by: str | None = Field(description="None for a scheduled check.")
    scheduled_for: datetime | None
    status: str = Field(description="The verify job's status: queued, running, succeeded, failed, cancelled.")
    outcome: Literal["passed", "failed"] | None = Field(description="None until the check ended.")
    finished_at: datetime | None
    error: str | None


class ArtifactDetail(ArtifactOut):
    """An artifact with its remote copies, its checks and its manifest."""

    remote_copies: list[CopyOut]
    verifications: list[VerificationOut] = Field(description="The latest checks, newest first (at most 20).")
    manifest: dict[str, object] = Field(description="The ArchiveCreated fact as recorded.")
    storage: str | None = Field(
        default=None,
        description="For a volume's archive: where the volume kept its data, in words (\"the host directory "
        '/srv/app", "the NFS share nas:/export"). None when the archive is not a volume\'s or its host did '
        "not say.",
    )
    manifest_path: str
    prune_job_id: uuid.UUID | None


class ArtifactPage(BaseModel):
    items: list[ArtifactOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; None on the last.")


class VerifyStarted(BaseModel):
    job_id: uuid.UUID = Field(description="The verify job; follow it under /jobs/{job_id}.")


class DeleteStarted(BaseModel):
    job_id: uuid.UUID = Field(
        description="The job deleting the backup on its host and in its targets (kind `prune`); "
        "follow it under /jobs/{job_id}. If it fails, the backup is listed again."
    )


class RetentionPreviewRequest(BaseModel):
    """A plan's artifacts judged by its retention policy, or by another policy to try it out."""

    model_config = ConfigDict(extra="forbid")

    plan_id: uuid.UUID
    retention: RetentionPolicy | None = Field(
        default=None, description="A policy to preview instead of the plan's own (nothing is saved)."
    )


class VerdictOut(BaseModel):
    artifact_id: uuid.UUID
    created_at: datetime
    verified: bool
    size_bytes: int
    reasons: list[str] = Field(description="Why the policy keeps it (each rule that does), or why it goes.")


class ScopePreview(BaseModel):
    """One archive series: (host, plan, resource, role)."""

    host_id: str
    resource: ResourceOut
    role: str
    keep: list[VerdictOut] = Field(description="Newest first.")
    delete: list[VerdictOut] = Field(description="What the policy would prune, newest first.")
    pruning: list[uuid.UUID] = Field(description="Artifacts whose prune is under way (not judged again).")


class RetentionPreview(BaseModel):
    plan_id: uuid.UUID
    policy: RetentionPolicy = Field(description="The policy applied.")
    policy_summary: str
    timezone: str = Field(description="The plan's time zone, in which days, weeks, months and years are counted.")
    evaluated_at: datetime
    scopes: list[ScopePreview]
    delete_count: int
    delete_bytes: int
