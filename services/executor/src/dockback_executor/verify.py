"""Verifying archives: the sha256 against the request and the manifest, and every tar entry
against the safety rules (tar_inspect), in one read. A restore checks its archive this way
before it writes anything; a `VerifyRequested` job does only this and announces the result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import zstandard

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest
from dockback_executor.archive import HashingReader, decompressing
from dockback_executor.errors import ChecksumMismatch, ResourceMissing
from dockback_executor.store import ArchiveStore
from dockback_executor.tar_inspect import ArchiveLimits, ArchiveSummary, HostileArchive, scan_archive
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.errors import PermanentError
from dockback_runtime.jobs.running import enter_phase


class ArchiveVerifier:
    """Checks this host's archives; runs `VerifyRequested` jobs."""

    def __init__(
        self, store: ArchiveStore, announcer: Announcer, host_id: str, limits: ArchiveLimits | None = None
    ) -> None:
        self.store = store
        self.announcer = announcer
        self.host_id = host_id
        self.limits = limits or ArchiveLimits()

    async def located(self, archive: ev.ArchiveRef) -> tuple[ArchiveManifest, Path]:
        """The archive's manifest and path in this host's data dir."""
        path = self.store.resolve(archive.path)
        if not path.exists():
            raise ResourceMissing(f"archive {archive.path} is not in this host's data dir")
        manifest = await asyncio.to_thread(self.store.manifest_for, path)
        return manifest, path

    async def verify(self, request: ev.VerifyRequested, attempt: int) -> ArchiveSummary:
        """Check an archive's checksum and that every entry reads back; announce the result."""
        manifest, path = await self.located(request.archive)
        await self.announcer.publish(
            ev.JobStarted(
                job_id=request.job_id,
                host_id=self.host_id,
                kind="verify",
                resource=manifest.resource,
                attempt=attempt,
            )
        )
        enter_phase("verify")
        # A check of the bytes: setuid files are data here; whether they may be restored is the restore's question.
        summary = await self.check(path, manifest, request.archive.sha256, consequence="", special_bits=True)
        await self.announcer.publish(
            ev.ArchiveVerified(
                job_id=request.job_id,
                host_id=self.host_id,
                artifact_id=manifest.artifact_id,
                sha256=manifest.sha256,
                file_count=summary.entries,
            )
        )
        return summary

    async def check(
        self,
        path: Path,
        manifest: ArchiveManifest,
        expected_sha256: str,
        consequence: str = "; nothing was restored",
        *,
        limits: ArchiveLimits | None = None,
        special_bits: bool = False,
    ) -> ArchiveSummary:
        """sha256 against the request and the manifest, and every tar entry against the safety rules,
        in one read of the archive. `consequence` ends the message of a failed check; `limits` are
        this archive's (default: the host's); setuid and setgid files pass only with `special_bits`."""
        return await asyncio.to_thread(
            self._check, path, manifest, expected_sha256, consequence, limits or self.limits, special_bits
        )

    def _check(
        self,
        path: Path,
        manifest: ArchiveManifest,
        expected_sha256: str,
        consequence: str,
        limits: ArchiveLimits,
        special_bits: bool,
    ) -> ArchiveSummary:
        summary = ArchiveSummary(entries=manifest.file_count, total_bytes=manifest.raw_bytes)
        problem: Exception | None = None
        with open(path, "rb") as raw:
            hashing = HashingReader(raw)
            if manifest.kind in ("volume", "bind", "image"):  # configs are JSON
                try:
                    stream = decompressing(hashing, manifest.compression)  # type: ignore[arg-type]
                    summary = scan_archive(stream, limits, special_bits=special_bits)
                except (HostileArchive, zstandard.ZstdError, OSError, EOFError) as exc:
                    problem = exc
            actual = hashing.drain()
        size = path.stat().st_size
        if actual != expected_sha256 or actual != manifest.sha256:
            expected = (
                expected_sha256
                if expected_sha256 == manifest.sha256
                else (f"{expected_sha256} (the manifest says {manifest.sha256})")
            )
            truncated = (
                f"; it is truncated: {size} bytes of {manifest.size_bytes}" if size < manifest.size_bytes else ""
            )
            raise ChecksumMismatch(
                f"archive {path.name} is corrupt: its sha256 is {actual}, expected {expected}{truncated}{consequence}"
            )
        if problem is not None:
            raise PermanentError(f"archive {path.name} refused: {problem}{consequence}") from problem
        return summary
