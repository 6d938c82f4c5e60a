"""The JSON manifest written beside every archive: what it holds and how to check it.

An archive is announced (`ArchiveCreated`) only after it and its manifest are fsynced and
renamed into place, so a manifest on disk always describes a complete archive.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from dockback_contracts.base import ByteCount, Compression, HostId, Id, Model, Sha256, UtcDatetime
from dockback_contracts.events import ResourceRef

MANIFEST_FORMAT = "dockback-archive/1"

ArtifactKind = Literal["volume", "bind", "config", "image"]


class ArchiveManifest(Model):
    """Everything needed to verify and restore one archive without asking anyone."""

    format: Literal["dockback-archive/1"] = "dockback-archive/1"
    artifact_id: Id
    job_id: Id
    plan_id: Id | None = None
    host_id: HostId
    resource: ResourceRef = Field(description="What the job backed up (a container for its volumes too).")
    role: str = Field(description="Which part of the resource: the volume name, 'config' or 'image'.")
    kind: ArtifactKind
    archive_file: str = Field(description="File name of the archive, beside this manifest.")
    compression: Compression
    compression_level: int | None = None
    strategy: Literal["stream", "runner", "file"] = "stream"
    sha256: Sha256 = Field(description="Of the stored (compressed) bytes.")
    size_bytes: ByteCount = Field(description="Stored size, after compression.")
    raw_bytes: ByteCount = Field(description="Size of the tar stream (or file) before compression.")
    file_count: ByteCount = Field(description="Entries in the tar (files, dirs, links, ...).")
    started_at: UtcDatetime
    finished_at: UtcDatetime
    engine_version: str
    labels: dict[str, str] = Field(default_factory=dict, description="The source object's labels.")
    source: dict[str, Any] = Field(default_factory=dict, description="`docker inspect` of the source object.")
