"""Bringing an archive back from a remote copy, then handing its restore to the executor.

The archive is downloaded into the data dir at the path the catalog knows (`ArchiveRef.path`)
through a `.partial-` file, hashed on the way, fsynced and renamed into place only when
size and sha256 match the `ArchiveRef`; its manifest follows the same way, and only when it
agrees with the catalog's record of the archive (`RestoreRequested.catalogued`: a bucket is
not trusted to say where or how to restore). Only then is the
`RestoreRequested` published to the host's executors (which check the checksum again). A
copy that does not match is refused and the next remote location is tried.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path

from pydantic import ValidationError

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_runtime.partials import open_partial, partial_of
from dockback_uploader.errors import OutOfScope
from dockback_uploader.local_archives import LocalArchives, _fsync_dir
from dockback_uploader.remote_keys import host_prefix, manifest_key, parse_location
from dockback_uploader.s3 import S3Bucket, fsync_file
from dockback_uploader.targets import TargetSettings

log = logging.getLogger(__name__)


class FetchService:
    """Handles `FetchRequested` for this host."""

    def __init__(self, archives: LocalArchives, targets: TargetSettings, announcer: Announcer, host_id: str) -> None:
        self.archives = archives
        self.targets = targets
        self.announcer = announcer
        self.host_id = host_id

    async def run(self, request: ev.FetchRequested, delivery: int) -> None:
        """Fetch and check the archive, then hand the restore on. `delivery` identifies the
        `FetchRequested` message (its stream sequence): the restore is published under
        `fetched:<job id>:<delivery>`, so the same message handled twice hands it on once, while
        the job's own request (which took the job id as its message id in the same stream) and a
        request the reconciler published again (a new message) never swallow it."""
        if request.host_id != self.host_id or request.restore.host_id != self.host_id:
            raise PermanentError(f"this uploader serves host {self.host_id}, not {request.host_id}")
        if not self.archives.exists():
            raise TransientError(f"the data dir {self.archives.root} does not exist (yet): is it the executor's?")
        if request.restore.catalogued is None:
            raise PermanentError(
                "the restore carries no catalog record of the archive (issued by an older version); "
                "preview and confirm it again. Nothing was fetched."
            )
        try:
            archive, manifest = self.archives.paths_of(request.archive.path)
        except OutOfScope as exc:
            raise PermanentError(f"refused to fetch: {exc}") from exc
        if not await asyncio.to_thread(_matches, archive, request.archive):
            await self._download_from_any(request, archive, manifest)
        await self.announcer.publish(request.restore, message_id=f"fetched:{request.job_id}:{delivery}")

    async def _download_from_any(self, request: ev.FetchRequested, archive: Path, manifest: Path) -> None:
        problems: list[str] = []
        transient = False
        for location in request.archive.remote_locations:
            try:
                await self._download(request, location, archive, manifest)
                return
            except TransientError as exc:
                transient = True
                problems.append(str(exc))
            except (PermanentError, OutOfScope) as exc:
                problems.append(str(exc))
        message = f"could not fetch artifact {request.archive.artifact_id} from any remote copy: " + "; ".join(problems)
        raise TransientError(message) if transient else PermanentError(message)

    async def _download(self, request: ev.FetchRequested, location: str, archive: Path, manifest: Path) -> None:
        target_id, key = parse_location(location)
        target, credentials = await self.targets.target(target_id)
        if not key.startswith(host_prefix(target.prefix, request.host_id)) or ".." in key.split("/"):
            raise OutOfScope(f"remote key {key!r} in {target_id!r} is not one of host {request.host_id}'s archives")
        expected = request.archive
        archive.parent.mkdir(parents=True, exist_ok=True)
        async with S3Bucket.open(target, credentials, self.targets.policy) as bucket:
            manifest_data = await bucket.read_small(manifest_key(key))
            _require_manifest_of(manifest_data, request.restore, archive.name, location)
            partial = partial_of(archive)
            try:
                # Locked while open: the executor's cleanup at its start leaves it alone.
                file = await asyncio.to_thread(open_partial, archive)
                try:
                    digest, size = await bucket.download(key, file)
                    await asyncio.to_thread(fsync_file, file)
                    if (digest, size) != (expected.sha256, expected.size_bytes):
                        raise PermanentError(
                            f"the copy at {location} is {size} bytes with sha256 {digest}, not "
                            f"{expected.size_bytes} bytes with sha256 {expected.sha256}: refused"
                        )
                    os.replace(partial, archive)  # before closing: closing gives up the lock
                finally:
                    file.close()
            finally:
                partial.unlink(missing_ok=True)
        await asyncio.to_thread(_write_durably, manifest, manifest_data)
        _fsync_dir(archive.parent)
        log.info("fetched artifact %s from %s", expected.artifact_id, location)


def _require_manifest_of(data: bytes, restore: ev.RestoreRequested, archive_file: str, location: str) -> None:
    """Refuse a remote manifest that does not describe the archive being fetched, or disagrees
    with the catalog on anything: it is written into the data dir, where it is what proves whose
    archive the file is, and the executor reads it."""
    ref = restore.archive
    try:
        manifest = ArchiveManifest.model_validate_json(data)
    except ValidationError as exc:
        raise PermanentError(
            f"the manifest beside the copy at {location} cannot be read ({exc.error_count()} error(s)): refused"
        ) from None
    described = (manifest.artifact_id, manifest.sha256, manifest.size_bytes, manifest.archive_file)
    if described != (ref.artifact_id, ref.sha256, ref.size_bytes, archive_file):
        raise PermanentError(
            f"the manifest beside the copy at {location} describes artifact {manifest.artifact_id} "
            f"({manifest.archive_file}), not artifact {ref.artifact_id} ({archive_file}): refused"
        )
    disagreement = None if restore.catalogued is None else manifest.disagreement_with(restore.catalogued, data)
    if disagreement is not None:
        raise PermanentError(f"the copy at {location}: {disagreement}; refused")


def _matches(archive: Path, ref: ev.ArchiveRef) -> bool:
    """Whether the local archive is already there, complete and intact."""
    try:
        if archive.stat().st_size != ref.size_bytes:
            return False
        digest = hashlib.sha256()
        with open(archive, "rb") as file:
            while chunk := file.read(1024 * 1024):
                digest.update(chunk)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == ref.sha256


def _write_durably(path: Path, data: bytes) -> None:
    with open_partial(path) as file:
        file.write(data)
        fsync_file(file)
        os.replace(partial_of(path), path)
