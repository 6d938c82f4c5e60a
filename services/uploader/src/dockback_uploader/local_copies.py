"""The plan's local-copies policy, applied once a job's archives are copied and verified.

keep all: nothing happens. keep last N: per series (plan, resource, role) the newest N
archives stay in the data dir. keep none: every archive goes. Either way an archive is
removed only when each of the job's upload targets holds a copy whose size and sha256
metadata match its manifest, checked now, in the bucket; otherwise it stays. One
`LocalCopiesRemoved` per job names what went (run on the job's last archive).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from pydantic import ValidationError

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest
from dockback_contracts.snapshots import LocalCopies
from dockback_runtime.jobs.announcer import Announcer
from dockback_uploader.local_archives import MANIFEST_SUFFIX, LocalArchives, LocatedArchive, manifest_path_of
from dockback_uploader.remote_keys import archive_key
from dockback_uploader.s3 import S3Bucket
from dockback_uploader.targets import TargetSettings

log = logging.getLogger(__name__)


class LocalCopiesPolicy:
    def __init__(self, archives: LocalArchives, targets: TargetSettings, announcer: Announcer) -> None:
        self.archives = archives
        self.targets = targets
        self.announcer = announcer

    async def apply(self, event: ev.ArchiveCreated) -> None:
        if event.plan_id is None or not event.upload_targets:
            return
        plan = await self.targets.plan(str(event.plan_id))
        policy = plan.local_copies if plan is not None else LocalCopies()
        if policy.keep == "all":
            return
        archive, _ = self.archives.paths_of(event.archive.path)
        series = await asyncio.to_thread(_series_of, archive.parent, event)
        candidates: list[tuple[Path, ArchiveManifest]] = []
        for members in series.values():
            members.sort(key=lambda m: (m[1].started_at, m[0].name), reverse=True)
            candidates += members if policy.keep == "none" else members[policy.last :]
        if not candidates:
            return
        verified = {path for path, _ in candidates}
        for target_id in event.upload_targets:
            target, credentials = await self.targets.target(target_id)
            async with S3Bucket.open(target, credentials, self.targets.policy) as bucket:
                for path, manifest in candidates:
                    if path not in verified:
                        continue
                    key = archive_key(target.prefix, event.host_id, event.plan_id, event.resource, path.name)
                    remote = await bucket.stat(key)
                    if remote is None or (remote.size, remote.sha256) != (manifest.size_bytes, manifest.sha256):
                        verified.discard(path)
        removed = []
        for path, manifest in candidates:
            if path in verified:
                located = LocatedArchive(manifest.artifact_id, path, manifest_path_of(path), present=True)
                await asyncio.to_thread(self.archives.delete, located)
                removed.append(manifest.artifact_id)
        if removed:
            log.info(
                "removed %d local archive(s) of plan %s whose remote copies are verified", len(removed), event.plan_id
            )
            await self.announcer.publish(
                ev.LocalCopiesRemoved(
                    job_id=event.job_id, host_id=event.host_id, plan_id=event.plan_id, artifact_ids=tuple(removed)
                )
            )


def _series_of(directory: Path, event: ev.ArchiveCreated) -> dict[str, list[tuple[Path, ArchiveManifest]]]:
    """The archives in `directory` of the event's host, plan and resource, by role."""
    series: dict[str, list[tuple[Path, ArchiveManifest]]] = {}
    for manifest_path in directory.glob(f"*{MANIFEST_SUFFIX}"):
        try:
            manifest = ArchiveManifest.model_validate_json(manifest_path.read_bytes())
        except (OSError, ValidationError):
            continue  # not ours to judge: never removed by the policy
        archive = manifest_path.with_name(manifest.archive_file)
        if (
            manifest.host_id != event.host_id
            or manifest.plan_id != event.plan_id
            or manifest.resource != event.resource
            or not archive.is_file()
            or archive.is_symlink()
        ):
            continue
        series.setdefault(manifest.role, []).append((archive, manifest))
    return series
