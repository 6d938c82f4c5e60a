"""Deleting the remote copies of pruned artifacts, within the prune's scope only.

Every `target_id:key` of the request is checked first: the key must be an archive directly
under `<prefix>/<host>/<plan>/<resource>/` of the request's host, plan and resource in that
target. One key outside means nothing is deleted (the request cannot be trusted). Then each
archive object and its manifest object are deleted; one already gone counts as deleted.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from dockback_contracts import events as ev
from dockback_uploader.errors import OutOfScope
from dockback_uploader.prune import PruneRefused
from dockback_uploader.remote_keys import manifest_key, parse_location, require_in_scope, scope_prefix
from dockback_uploader.s3 import S3Bucket
from dockback_uploader.targets import TargetSettings

log = logging.getLogger(__name__)


class S3RemoteCopies:
    """The `RemoteCopies` of the prune service, on the targets of the settings snapshot."""

    def __init__(self, targets: TargetSettings) -> None:
        self.targets = targets

    async def delete(self, request: ev.PruneRequested) -> None:
        by_target: dict[str, list[str]] = {}
        refusals: list[tuple[ev.ArchiveRef, OutOfScope]] = []
        for ref in request.archives:
            for location in ref.remote_locations:
                try:
                    target_id, key = parse_location(location)
                    by_target.setdefault(target_id, []).append(key)
                except OutOfScope as exc:
                    refusals.append((ref, exc))
        opened = {}
        for target_id in by_target:
            opened[target_id] = await self.targets.target(target_id)
        for ref in request.archives:
            for location in ref.remote_locations:
                target_id, _, key = location.partition(":")
                if target_id not in opened:
                    continue
                target = opened[target_id][0]
                try:
                    require_in_scope(
                        key, scope_prefix(target.prefix, request.host_id, request.plan_id, request.resource)
                    )
                    if PurePosixPath(key).name != PurePosixPath(ref.path).name:
                        # In scope, but the copy of another archive (perhaps the one retention keeps).
                        raise OutOfScope(f"remote key {key!r} is not the copy of {ref.path!r}")
                except OutOfScope as exc:
                    refusals.append((ref, exc))
        if refusals:
            raise PruneRefused(refusals)
        for target_id, keys in by_target.items():
            target, credentials = opened[target_id]
            async with S3Bucket.open(target, credentials) as bucket:
                for key in keys:
                    await bucket.delete(key)
                    await bucket.delete(manifest_key(key))
            log.info("prune %s: deleted %d remote copies in %s", request.job_id, len(keys), target_id)
