"""Request and response bodies of the /restores routes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from dockback_gateway import patterns


class RestoreTargetIn(BaseModel):
    """Where to restore: the original resource, or a new name beside it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["volume", "container", "image"] = Field(
        description="volume for a volume archive, container for a container's config, image for an image."
    )
    name: str = Field(
        # The schema's pattern is the widest (an image's); the validator below applies the one of the
        # kind, so a volume's refusal states the volume's rule, not the image's ':', '/' and '@'.
        json_schema_extra={"pattern": patterns.DOCKER_NAME},
        description="The original name, or a new one (restoring to a new name never touches the original). "
        "A volume's or container's name follows Docker's rule `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (at most 255 "
        "characters); an image reference may also hold ':', '/' and '@'.",
    )
    replace_existing: bool = Field(
        default=False, description="Swap the restored data in over an existing object of that name."
    )
    allow_stop: bool = Field(
        default=False,
        description="Stop the containers using the target during the swap (they are restarted afterwards).",
    )

    @field_validator("name")
    @classmethod
    def _docker_accepts_the_name(cls, name: str, info: ValidationInfo) -> str:
        """Docker's rule for the kind, said in words before the host refuses: a volume's or a
        container's name takes no ':', '/' or '@'; an image reference does."""
        volume_or_container = info.data.get("kind") in ("volume", "container")
        pattern = patterns.VOLUME_OR_CONTAINER_NAME if volume_or_container else patterns.DOCKER_NAME
        if not re.match(pattern, name):
            raise ValueError(patterns.describe(pattern))
        return name

    same_storage_as_original: bool = Field(
        default=False,
        description="For a restore to a new volume: create it with the original volume's driver and options "
        "(from the catalog) instead of the plain local driver. With a bind- or NFS-backed original that writes "
        "into the original's host directory or share; the preview says which. Refused (422) for a volume that "
        "exists (a replaced volume keeps its own driver and options) and for containers and images.",
    )


class RestorePreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    artifact_id: uuid.UUID
    target: RestoreTargetIn
    backup_first: bool = Field(
        default=True,
        description="When the restore replaces an existing volume's content, or an existing container (and its "
        "volumes): first back up its current data (an ad-hoc backup, catalogued like any other, so a wrong "
        "restore can be undone). The executor takes it as the restore's first step; if it fails, the restore "
        "stops and overwrites nothing. Ignored when nothing is overwritten, and for images.",
    )
    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default=[],
        max_length=1000,
        description="A volume's snapshot only: restore just these files or directories (paths from the volume's "
        "root, as GET /artifacts/{id}/tree shows them); empty: all of it.",
    )


class ContainerUse(BaseModel):
    """A container that uses the target."""

    container_id: str
    container_name: str
    running: bool
    will_stop: bool = Field(description="Stopped for the swap and started again afterwards.")


class VolumeImpact(BaseModel):
    """A volume the restore writes (the target, or a volume restored with a container)."""

    name: str
    exists: bool
    overwritten: bool = Field(description="Its current content is replaced.")
    used_by: list[ContainerUse]


class ArchiveSummary(BaseModel):
    artifact_id: uuid.UUID
    host_id: str
    plan_id: uuid.UUID | None
    resource_kind: str
    resource_name: str
    role: str
    kind: Literal["volume", "bind", "config", "image"]
    created_at: datetime
    size_bytes: int
    sha256: str
    verified_at: datetime | None = Field(description="The last successful check of the archive, if any.")


class RestorePreview(BaseModel):
    """What the restore would do, and the token that confirms exactly this."""

    archive: ArchiveSummary
    target: RestoreTargetIn
    target_exists: bool = Field(description="An object of the target's kind and name exists on the host.")
    overwrites: bool = Field(description="Existing data is replaced.")
    container: ContainerUse | None = Field(description="For a container restore: the existing container, if any.")
    volumes: list[VolumeImpact] = Field(description="The volumes the restore writes.")
    stops: list[str] = Field(description="Names of the running containers that are stopped and restarted.")
    fetch_from: list[str] = Field(
        default_factory=list,
        description="When the host no longer holds the archive: the S3 targets (ids) of its verified remote "
        "copies; the host's uploader downloads it from the first that answers and checks its sha256 before "
        "the restore starts. Empty: the archive is read from the host's data dir.",
    )
    storage: str | None = Field(
        default=None,
        description="For a volume restore: where the restored data is written, in words (a new volume's "
        "storage, or that a replaced volume keeps its own driver and options).",
    )
    original_storage: str | None = Field(
        default=None,
        description="Where the backed-up volume kept its data, in words, from the catalog; None when the "
        "archive is not a volume's or its host did not say.",
    )
    summary: str = Field(description="The plan of action in a few sentences.")
    warnings: list[str]
    inventory_at: datetime | None = Field(description="When the host last reported what it holds.")
    checked_on_host: bool = Field(
        description="The host's executor said just now what exists of the target and which containers use it. "
        "False: it did not answer in time, and the preview is from the host's last inventory (`fallback` says so)."
    )
    checked_at: datetime | None = Field(description="When the host answered; null when it did not.")
    fallback: str | None = Field(
        description="When the host did not answer: why, and that the preview is from its inventory of "
        "`inventory_at` (a container created since is not listed). Show it before the person confirms."
    )
    backup_first: bool = Field(
        description="The current data is backed up before it is replaced (asked for, and the restore replaces "
        "an existing volume, or an existing container with its volumes)."
    )
    confirm_name: str | None = Field(
        description="When the restore overwrites something: type this name again in POST /restores to confirm. "
        "None: nothing existing is overwritten, and the token alone confirms."
    )
    token: str = Field(description="The confirmation token: single use, for this user and this plan of action only.")
    expires_at: datetime


class RestoreConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, description="The token of the preview.")
    confirm_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The target's name, typed again: required when the restore overwrites something "
        "(the preview's `confirm_name`); when given otherwise it must match too.",
    )


class RestoreAccepted(BaseModel):
    job_id: uuid.UUID = Field(description="The restore job; follow it under /jobs/{job_id}.")
    backup_job_id: uuid.UUID | None = Field(
        default=None,
        description="The backup of the current data the restore takes first (its own job, under /jobs), if any.",
    )
    host_id: str
    status: Literal["queued"] = "queued"


class RestoreLockOut(BaseModel):
    """The safety lock: while it is on, previews work and restores are refused."""

    locked: bool
    reason: str | None
    changed_by: str | None = Field(description="Who set or lifted the lock last.")
    changed_at: datetime | None


class RestoreLockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locked: bool
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=patterns.NO_CONTROL_CHARACTERS,
        description="Why restores are locked (shown to whoever tries one).",
    )
