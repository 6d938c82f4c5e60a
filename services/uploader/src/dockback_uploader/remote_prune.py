"""Deleting the remote copies of pruned (or deleted) artifacts, within the request's scope only.

Every `target_id:key` of the request is checked first: the key must be an archive directly
under `<prefix>/<host>/<plan>/<resource>/` of the request's host, plan and resource in that
target (`adhoc` for the plan of an ad-hoc backup a person deletes). One key outside means
nothing is deleted (the request cannot be trusted). A person's deletion names its artifact
only, whatever its plan, so there the manifest object beside each key must also name that
artifact and checksum. Then each archive object and its manifest object are deleted; one
already gone counts as deleted.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from pydantic import ValidationError

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest
from dockback_uploader.errors import OutOfScope
from dockback_uploader.prune import PruneRefused, Removal, archives_of
from dockback_uploader.remote_keys import manifest_key, parse_location, require_in_scope, scope_prefix
from dockback_uploader.s3 import S3Bucket
from dockback_uploader.targets import TargetSettings

log = logging.getLogger(__name__)


class S3RemoteCopies:
    """The `RemoteCopies` of the prune service, on the targets of the settings snapshot."""

    def __init__(self, targets: TargetSettings) -> None:
        self.targets = targets

    async def delete(self, request: Removal) -> None:
        by_target: dict[str, list[str]] = {}
        refusals: list[tuple[ev.ArchiveRef, OutOfScope]] = []
        for ref in archives_of(request):
            for location in ref.remote_locations:
                try:
                    target_id, key = parse_location(location)
                    by_target.setdefault(target_id, []).append(key)
                except OutOfScope as exc:
                    refusals.append((ref, exc))
        opened = {}
        for target_id in by_target:
            opened[target_id] = await self.targets.target(target_id)
        for ref in archives_of(request):
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
        if isinstance(request, ev.DeleteRequested):
            for target_id, keys in by_target.items():
                target, credentials = opened[target_id]
                async with S3Bucket.open(target, credentials, self.targets.policy) as bucket:
                    for key in keys:
                        try:
                            await _prove_copy_of(bucket, key, request.archive)
                        except OutOfScope as exc:
                            refusals.append((request.archive, exc))
            if refusals:
                raise PruneRefused(refusals)
        for target_id, keys in by_target.items():
            target, credentials = opened[target_id]
            async with S3Bucket.open(target, credentials, self.targets.policy) as bucket:
                for key in keys:
                    await bucket.delete(key)
                    await bucket.delete(manifest_key(key))
            log.info("prune %s: deleted %d remote copies in %s", request.job_id, len(keys), target_id)


async def _prove_copy_of(bucket: S3Bucket, key: str, ref: ev.ArchiveRef) -> None:
    """Raise OutOfScope unless the manifest object beside `key` names `ref`'s artifact and
    checksum; an archive and manifest both gone count as already deleted."""
    manifest = manifest_key(key)
    if await bucket.stat(manifest) is None:
        if await bucket.stat(key) is not None:
            raise OutOfScope(f"remote key {key!r} has no manifest beside it, so nothing proves whose archive it is")
        return
    try:
        described = ArchiveManifest.model_validate_json(await bucket.read_small(manifest))
    except ValidationError as exc:
        raise OutOfScope(f"the manifest of remote key {key!r} cannot be read: {exc.error_count()} error(s)") from exc
    if (described.artifact_id, described.sha256) != (ref.artifact_id, ref.sha256):
        raise OutOfScope(
            f"the manifest of remote key {key!r} names artifact {described.artifact_id} "
            f"(sha256 {described.sha256[:12]}…), not artifact {ref.artifact_id}"
        )
