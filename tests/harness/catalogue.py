"""The catalog's record of an archive (`CataloguedArchive`), as the gateway records it from the
archive's `ArchiveCreated`, for tests that send restores without a gateway."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest


def catalogued(manifest: ArchiveManifest, data: bytes | None = None) -> ev.CataloguedArchive:
    """What the catalog holds about the archive `manifest` describes (before anyone tampers with it);
    with the manifest file's bytes `data`, their sha256 too."""
    record = manifest.model_dump(include=set(ev.CataloguedArchive.model_fields))
    if data is not None:
        record["manifest_sha256"] = hashlib.sha256(data).hexdigest()
    return ev.CataloguedArchive.model_validate(record)


def catalogued_beside(archive: Path) -> ev.CataloguedArchive:
    """The record of the archive at `archive`, from the manifest beside it."""
    name = archive.name
    for suffix in (".tar.zst", ".tar.gz", ".tar", ".json"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    data = archive.with_name(f"{name}.manifest.json").read_bytes()
    return catalogued(ArchiveManifest.model_validate_json(data), data)


def catalogued_from(created: ev.ArchiveCreated) -> ev.CataloguedArchive:
    """The record the gateway's catalog makes of `created` (its kind from the resource and role)."""
    kind: ev.ArtifactKind
    if created.resource.kind in ("volume", "image"):
        kind = created.resource.kind  # type: ignore[assignment]
    elif created.role in ("config", "image"):
        kind = created.role  # type: ignore[assignment]
    else:
        kind = "bind" if created.role.startswith("bind/") else "volume"
    return ev.CataloguedArchive(
        artifact_id=created.archive.artifact_id,
        job_id=created.job_id,
        host_id=created.host_id,
        plan_id=created.plan_id,
        resource=created.resource,
        role=created.role,
        kind=kind,
        archive_file=PurePosixPath(created.archive.path).name,
        compression=created.compression,
        sha256=created.archive.sha256,
        size_bytes=created.archive.size_bytes,
        raw_bytes=created.raw_bytes,
        file_count=created.file_count,
        manifest_sha256=created.manifest_sha256,
    )
