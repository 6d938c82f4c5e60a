"""The executor's archive store as the uploader sees it: find an archive, prove whose it is, delete it.

The executor writes (see its `store.py`; services never import one another, so the few
rules needed are repeated here):

    <data_dir>/<kind>s/<name>/<started>-<job id>-<role>.tar.zst          the archive
    <data_dir>/<kind>s/<name>/<started>-<job id>-<role>.manifest.json    its manifest

The manifest is written after the archive, so it always describes a complete archive. A
prune deletes the archive first and the manifest last: a prune interrupted between the two
leaves a manifest that still proves the scope when the prune is redelivered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from uuid import UUID

from pydantic import ValidationError

from dockback_contracts.events import ArchiveRef, DeleteRequested, PruneRequested, ResourceRef
from dockback_contracts.manifest import ArchiveManifest
from dockback_uploader.errors import OutOfScope

MANIFEST_SUFFIX = ".manifest.json"
ARCHIVE_SUFFIXES = (".tar.zst", ".tar.gz", ".tar", ".json")  # .json: a container's `docker inspect`


@dataclass(frozen=True)
class LocatedArchive:
    """An archive of the request's scope, or the place where it was (`present` False: already pruned)."""

    artifact_id: UUID
    archive: Path
    manifest: Path
    present: bool


def manifest_path_of(archive: Path) -> Path:
    """The manifest beside an archive (the executor's rule)."""
    if archive.name.endswith(MANIFEST_SUFFIX):
        raise OutOfScope(f"{archive.name} is a manifest, not an archive")
    for suffix in ARCHIVE_SUFFIXES:
        if archive.name.endswith(suffix):
            return archive.with_name(archive.name.removesuffix(suffix) + MANIFEST_SUFFIX)
    raise OutOfScope(f"{archive.name} is not an archive DockBack wrote")


class LocalArchives:
    """The host's data dir, shared with the executor."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def exists(self) -> bool:
        return self.root.is_dir()

    def paths_of(self, path: str) -> tuple[Path, Path]:
        """The archive at `path` (relative to the data dir) and its manifest; raises OutOfScope
        when the path leaves the data dir (`..`, absolute) or leads through a symbolic link."""
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise OutOfScope(f"path {path!r} is not a path inside the data dir")
        archive = self.root.joinpath(*relative.parts)
        manifest = manifest_path_of(archive)
        for candidate in (archive, manifest):
            # resolve() follows every link on the way; with a resolved root and no `..`, any
            # difference is a symbolic link, which we never follow to delete or write something.
            if candidate.resolve() != candidate or not candidate.is_relative_to(self.root):
                raise OutOfScope(f"path {path!r} leads through a symbolic link")
        return archive, manifest

    def locate(self, ref: ArchiveRef, request: PruneRequested | DeleteRequested) -> LocatedArchive:
        """The archive `ref` names, after proving it belongs to the request's scope.

        Raises OutOfScope, naming the reason, when the path leaves the data dir (`..`, an
        absolute path, a symbolic link anywhere on the way) or when the manifest beside it
        does not name the same artifact, host, plan and resource. An archive and manifest
        that are both gone count as already pruned. A prune always names a plan, so the
        manifest of an ad-hoc backup is out of its scope; a person's `DeleteRequested` names
        the artifact's own plan, None for an ad-hoc backup, and the artifact id must match.
        """
        archive, manifest = self.paths_of(ref.path)
        if not os.path.lexists(manifest):
            if os.path.lexists(archive):
                raise OutOfScope(f"{ref.path} has no manifest beside it, so nothing proves whose archive it is")
            return LocatedArchive(ref.artifact_id, archive, manifest, present=False)
        try:
            described = ArchiveManifest.model_validate_json(manifest.read_bytes())
        except (OSError, ValidationError) as exc:
            raise OutOfScope(f"the manifest of {ref.path} cannot be read: {exc}") from exc
        differences = [
            f"{what} {theirs} (the request says {ours})"
            for what, theirs, ours in (
                ("artifact", described.artifact_id, ref.artifact_id),
                ("host", described.host_id, request.host_id),
                ("plan", described.plan_id, request.plan_id),
                ("resource", _resource(described.resource), _resource(request.resource)),
                ("archive file", described.archive_file, archive.name),
                ("sha256", described.sha256, ref.sha256),
            )
            if theirs != ours
        ]
        if differences:
            raise OutOfScope(f"the manifest of {ref.path} names " + ", ".join(differences))
        return LocatedArchive(ref.artifact_id, archive, manifest, present=True)

    @staticmethod
    def delete(located: LocatedArchive) -> None:
        """Delete the archive, then its manifest, durably; a file already gone is fine."""
        located.archive.unlink(missing_ok=True)
        located.manifest.unlink(missing_ok=True)
        _fsync_dir(located.archive.parent)


def _resource(resource: ResourceRef) -> str:
    return f"{resource.kind} {resource.name}"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
