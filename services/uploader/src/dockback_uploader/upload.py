"""Copying a new archive to each of its S3 targets, verifying each copy before announcing it.

For every target the job names: the object key is computed (see `remote_keys`), any
multipart upload an earlier, interrupted attempt left for that key is aborted, the archive
is streamed up, its remote size and sha256 are checked against the manifest (and, when the
target asks for it, the object is read back and hashed), the manifest object is put beside
it, and only then `UploadCompleted` goes out. A copy already there and verified (a
redelivered job) is announced again without uploading it twice. The local archive is
never touched here; the plan's local-copies policy runs afterwards (`local_copies`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_uploader.errors import OutOfScope
from dockback_uploader.local_archives import LocalArchives
from dockback_uploader.local_copies import LocalCopiesPolicy
from dockback_uploader.remote_keys import archive_key, host_prefix, manifest_key
from dockback_uploader.s3 import S3Bucket
from dockback_uploader.targets import TargetSettings

log = logging.getLogger(__name__)


class UploadService:
    """Handles `ArchiveCreated` for this host."""

    def __init__(
        self,
        archives: LocalArchives,
        targets: TargetSettings,
        announcer: Announcer,
        host_id: str,
        local_copies: LocalCopiesPolicy,
        stale_upload_age: timedelta = timedelta(days=1),
    ) -> None:
        self.archives = archives
        self.targets = targets
        self.announcer = announcer
        self.host_id = host_id
        self.local_copies = local_copies
        self.stale_upload_age = stale_upload_age

    async def run(self, event: ev.ArchiveCreated) -> None:
        if event.host_id != self.host_id:
            raise PermanentError(f"this uploader serves host {self.host_id}, not {event.host_id}")
        if not event.upload_targets:
            return
        try:
            archive, manifest_path = self.archives.paths_of(event.archive.path)
        except OutOfScope as exc:
            raise PermanentError(f"refused to upload: {exc}") from exc
        # None: archive and manifest are both gone, which is fine only if every copy is already
        # verified (a job redelivered after the local-copies policy removed them).
        manifest_bytes = await asyncio.to_thread(_read_manifest, archive, manifest_path, event)
        for target_id in dict.fromkeys(event.upload_targets):
            await self._copy(event, target_id, archive, manifest_bytes)
        if event.last_of_job:
            await self.local_copies.apply(event)

    async def _copy(self, event: ev.ArchiveCreated, target_id: str, archive: Path, manifest: bytes | None) -> None:
        target, credentials = await self.targets.target(target_id)
        key = archive_key(target.prefix, event.host_id, event.plan_id, event.resource, archive.name)
        expected = event.archive
        async with S3Bucket.open(target, credentials, self.targets.policy) as bucket:
            present = await bucket.stat(key)
            if present is None or (present.size, present.sha256) != (expected.size_bytes, expected.sha256):
                if manifest is None or not await asyncio.to_thread(archive.exists):
                    raise PermanentError(
                        f"{event.archive.path} is gone from the data dir and has no verified copy in S3 target "
                        f"{target_id!r}: it was removed before it was uploaded"
                    )
                await bucket.abort_incomplete_uploads(key)
                await self._abort_stale_uploads(bucket, target.prefix, event.host_id)
                try:
                    await bucket.upload_file(key, archive, expected.sha256, expected.size_bytes)
                except BaseException:  # a failure, or a cancellation at shutdown
                    # Leave no half-written multipart upload behind (miniopy aborts too, but
                    # its abort fails when the connection is what failed).
                    with contextlib.suppress(Exception):
                        await bucket.abort_incomplete_uploads(key)
                    raise
            verified_by = await self._verify(bucket, key, expected)
            if manifest is not None:
                await bucket.upload_bytes(manifest_key(key), manifest)
        log.info("archive %s copied to %s as %s (verified by %s)", expected.artifact_id, target_id, key, verified_by)
        await self.announcer.publish(
            ev.UploadCompleted(
                job_id=event.job_id,
                host_id=event.host_id,
                artifact_id=expected.artifact_id,
                target_id=target_id,
                bucket=target.bucket,
                key=key,
                size_bytes=expected.size_bytes,
                sha256=expected.sha256,
                verified_by=verified_by,
            )
        )

    async def _abort_stale_uploads(self, bucket: S3Bucket, prefix: str, host_id: str) -> None:
        """Abort this host's unfinished uploads that an attempt left when the server stayed down
        past the retry budget (its own abort could not reach the server). Never blocks a backup."""
        try:
            await bucket.abort_stale_uploads(host_prefix(prefix, host_id), self.stale_upload_age)
        except Exception as exc:
            log.warning("could not clean up stale unfinished uploads in %s: %s", bucket.name, exc)

    @staticmethod
    async def _verify(bucket: S3Bucket, key: str, expected: ev.ArchiveRef) -> Literal["metadata", "full-read"]:
        """ "metadata" or "full-read"; a copy that does not match is deleted and the job retried."""
        remote = await bucket.stat(key)
        problem = None
        if remote is None:
            problem = "is missing after the upload"
        elif remote.size != expected.size_bytes or remote.sha256 != expected.sha256:
            problem = f"has size {remote.size} and sha256 {remote.sha256}"
        elif bucket.target.verify_full_read:
            digest, size = await bucket.hash_of(key)
            if (digest, size) != (expected.sha256, expected.size_bytes):
                problem = f"reads back as {size} bytes with sha256 {digest}"
        if problem is not None:
            await bucket.delete(key)
            raise TransientError(
                f"the copy of {key} in S3 target {bucket.target.target_id!r} {problem}, not "
                f"{expected.size_bytes} bytes with sha256 {expected.sha256}: deleted, uploading again"
            )
        return "full-read" if bucket.target.verify_full_read else "metadata"


def _read_manifest(archive: Path, path: Path, event: ev.ArchiveCreated) -> bytes | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        if not archive.exists():
            return None
        raise PermanentError(f"the manifest of {event.archive.path} is missing: nothing says what to upload") from exc
    try:
        manifest = ArchiveManifest.model_validate_json(data)
    except ValidationError as exc:
        raise PermanentError(
            f"the manifest of {event.archive.path} cannot be read: {exc.error_count()} error(s)"
        ) from exc
    if (manifest.sha256, manifest.size_bytes, manifest.artifact_id) != (
        event.archive.sha256,
        event.archive.size_bytes,
        event.archive.artifact_id,
    ):
        raise PermanentError(f"the manifest of {event.archive.path} does not describe the archive the event announces")
    return data
