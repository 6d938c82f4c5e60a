"""The host's local archive store under DOCKBACK_DATA_DIR.

    <data_dir>/volumes/<name>/<started>-<job id>-<role>.tar.zst   the archive
    <data_dir>/volumes/<name>/<started>-<job id>-<role>.manifest.json   its manifest
    <data_dir>/containers/<name>/...-config.json                   a container's `docker inspect`
    <data_dir>/.locks/, <data_dir>/.stopped/                       job bookkeeping

Archives are written as `.partial-<name>` and renamed when complete; the manifest is
written after the archive, so a manifest always describes a complete archive. Leftover
partial files of a crashed run are removed at start.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
from datetime import datetime
from pathlib import Path
from uuid import UUID

from dockback_contracts.events import ResourceRef
from dockback_contracts.manifest import ArchiveManifest
from dockback_executor.archive import fsync_dir
from dockback_executor.errors import DataDirFull
from dockback_runtime.jobs.errors import PermanentError, describe_os_error
from dockback_runtime.partials import open_partial, partial_of, remove_abandoned
from dockback_runtime.words import byte_count

log = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".manifest.json"
ARCHIVE_SUFFIXES = (".tar.zst", ".tar.gz", ".tar", ".json")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_name(name: str) -> str:
    """A resource name as one path component (image references hold `/` and `:`)."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    return cleaned[:200] or "_"


class ArchiveStore:
    """Where this host's archives live, and the rules for writing them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> list[Path]:
        """Create the store and remove what a crashed run left half-written (partial files no
        running process holds: another executor of the host, or the uploader fetching an archive
        back, may be writing theirs); returns the removed files."""
        self.root.mkdir(parents=True, exist_ok=True)
        removed = []
        for left in remove_abandoned(self.root):
            removed.append(left.path)
            log.warning(
                "removed the incomplete file %s (%s) left by an interrupted job", left.path, byte_count(left.size_bytes)
            )
        return removed

    def cannot_write(self, exc: OSError, archive: Path, written: int | None, read: int | None) -> PermanentError:
        """The job error for an OS error no retry heals while `archive` was written into the store
        (its partial file already removed): for a full disk, which filesystem and how far it got."""
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return PermanentError(
                f"cannot write archive {archive.name} in the data dir {self.root}: {describe_os_error(exc)}"
            )
        progress = []
        if written is not None:
            progress.append(f"had written {byte_count(written)} of the archive")
        if read is not None:
            progress.append(f"read {byte_count(read)} of its source")
        so_far = f" when it {' and '.join(progress)}, so it needs more than that" if progress else ""
        full = "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
        try:
            usage = shutil.disk_usage(self.root)
            size, now = f" ({byte_count(usage.total)} in all)", f"; {byte_count(usage.free)} are free now"
        except OSError:
            size, now = "", ""
        return DataDirFull(
            f"{full} on the filesystem of the data dir {self.root}{size}: archive {archive.name} stopped{so_far}. "
            f"Its partial file was removed{now}. Free space there or move the data dir to a bigger filesystem, "
            "then run the backup again"
        )

    def directory_for(self, resource: ResourceRef) -> Path:
        directory = self.root / f"{resource.kind}s" / safe_name(resource.name)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    @staticmethod
    def stem(started_at: datetime, job_id: UUID, role: str) -> str:
        return f"{started_at:%Y%m%dT%H%M%SZ}-{job_id}-{safe_name(role)}"

    def find(self, resource: ResourceRef, job_id: UUID, role: str) -> ArchiveManifest | None:
        """The manifest of an archive this job already produced for `role`, if any."""
        for path in self.directory_for(resource).glob(f"*-{job_id}-{safe_name(role)}{MANIFEST_SUFFIX}"):
            return ArchiveManifest.model_validate_json(path.read_bytes())
        return None

    def write_manifest(self, directory: Path, stem: str, manifest: ArchiveManifest) -> Path:
        final = directory / f"{stem}{MANIFEST_SUFFIX}"
        temporary = partial_of(final)
        try:
            with open_partial(final) as f:
                f.write(manifest.model_dump_json(indent=2).encode())
                f.flush()
                os.fsync(f.fileno())
                os.replace(temporary, final)  # before closing: closing gives up the partial file's lock
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_dir(directory)
        return final

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def resolve(self, relative: str) -> Path:
        """A path from a request, refused when it points outside the store."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise PermanentError(f"archive path {relative!r} is outside the data dir")
        return path

    @staticmethod
    def manifest_path_of(archive: Path) -> Path:
        for suffix in ARCHIVE_SUFFIXES:
            if archive.name.endswith(suffix):
                return archive.with_name(archive.name.removesuffix(suffix) + MANIFEST_SUFFIX)
        raise PermanentError(f"{archive.name} is not an archive DockBack wrote")

    def manifest_for(self, archive: Path) -> ArchiveManifest:
        """The manifest beside an archive."""
        path = self.manifest_path_of(archive)
        if not path.exists():
            raise PermanentError(f"no manifest beside {self.relative(archive)}")
        return ArchiveManifest.model_validate_json(path.read_bytes())
