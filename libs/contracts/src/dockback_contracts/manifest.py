"""The JSON manifest written beside every archive: what it holds and how to check it.

An archive is announced (`ArchiveCreated`) only after it and its manifest are fsynced and
renamed into place, so a manifest on disk always describes a complete archive.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field

from dockback_contracts.base import ByteCount, Compression, HostId, Id, Model, Sha256, UtcDatetime
from dockback_contracts.events import ArtifactKind as ArtifactKind
from dockback_contracts.events import CataloguedArchive, ResourceRef

MANIFEST_FORMAT = "dockback-archive/1"

# The fields a manifest must state exactly as the catalog records them (`CataloguedArchive`).
_CATALOGUED_FIELDS = (
    "artifact_id",
    "job_id",
    "host_id",
    "plan_id",
    "resource",
    "role",
    "kind",
    "archive_file",
    "compression",
    "sha256",
    "size_bytes",
    "raw_bytes",
    "file_count",
)


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

    def disagreement_with(self, catalogued: CataloguedArchive, data: bytes | None = None) -> str | None:
        """Where this manifest differs from the catalog's record of the archive, in words; None
        when it agrees on every field the catalog records and, given the manifest file's bytes
        `data` and a catalog that knows their sha256, is that very file. A manifest fetched back
        from a bucket is only trusted this far: anything that decides where and how to write is
        the catalog's, and the rest (the source's `docker inspect`) must be what the backup wrote."""
        differences = []
        if data is not None and catalogued.manifest_sha256 is not None:
            digest = hashlib.sha256(data).hexdigest()
            if digest != catalogued.manifest_sha256:
                differences.append(f"its sha256 is {digest}, not {catalogued.manifest_sha256} as written by the backup")
        for field in _CATALOGUED_FIELDS:
            said, recorded = getattr(self, field), getattr(catalogued, field)
            if said != recorded:
                differences.append(f"{field} {_shown(said)} (the catalog says {_shown(recorded)})")
        if not differences:
            return None
        return f"the manifest of artifact {catalogued.artifact_id} disagrees with the catalog: " + "; ".join(
            differences
        )


def _shown(value: Any) -> str:
    if isinstance(value, ResourceRef):
        return f"{value.kind} {value.name!r}"
    return repr(value) if isinstance(value, str) else str(value)
