"""Where an archive lives in a bucket, and which keys a request may touch.

Layout (documented for operators browsing a bucket):

    <prefix>/<host id>/<plan id or "adhoc">/<resource kind>-<resource name>/<archive file>
    <prefix>/<host id>/<plan id or "adhoc">/<resource kind>-<resource name>/<archive stem>.manifest.json

The archive file keeps the executor's name, `<started>-<job id>-<role>.tar.zst` (or `.json`
for a container's configuration), so the key carries the timestamp, the job and the role:
the several archives of one container backup never collide. The manifest object sits
beside its archive, as on disk. An empty prefix leaves the key starting at the host id.
"""

from __future__ import annotations

from posixpath import normpath
from uuid import UUID

from dockback_contracts.events import ResourceRef
from dockback_uploader.errors import OutOfScope
from dockback_uploader.local_archives import ARCHIVE_SUFFIXES, MANIFEST_SUFFIX

ADHOC = "adhoc"


def plan_segment(plan_id: UUID | None) -> str:
    return str(plan_id) if plan_id is not None else ADHOC


def host_prefix(prefix: str, host_id: str) -> str:
    """The key prefix of everything a host's uploaders wrote to a target, ending in "/"."""
    return "/".join([p for p in prefix.strip("/").split("/") if p] + [host_id]) + "/"


def scope_prefix(prefix: str, host_id: str, plan_id: UUID | None, resource: ResourceRef | None = None) -> str:
    """The key prefix of a (host, plan[, resource]) scope, ending in "/" so that a plan whose id
    starts like another's never matches it."""
    scope = host_prefix(prefix, host_id) + plan_segment(plan_id) + "/"
    return scope + f"{resource.kind}-{resource.name}/" if resource is not None else scope


def archive_key(prefix: str, host_id: str, plan_id: UUID | None, resource: ResourceRef, archive_file: str) -> str:
    return scope_prefix(prefix, host_id, plan_id, resource) + archive_file


def manifest_key(key: str) -> str:
    """The manifest object beside an archive object (the executor's rule for files)."""
    for suffix in ARCHIVE_SUFFIXES:
        if key.endswith(suffix) and not key.endswith(MANIFEST_SUFFIX):
            return key.removesuffix(suffix) + MANIFEST_SUFFIX
    raise OutOfScope(f"{key} is not the key of an archive DockBack uploaded")


def require_in_scope(key: str, scope: str) -> None:
    """Refuse a key that is not an archive directly inside `scope` (no `..`, no sub-folder)."""
    if normpath(key) != key or not key.startswith(scope) or "/" in key[len(scope) :] or ".." in key.split("/"):
        raise OutOfScope(f"remote key {key!r} is outside {scope!r}")
    manifest_key(key)


def parse_location(location: str) -> tuple[str, str]:
    """`target_id:key` as in `ArchiveRef.remote_locations`."""
    target_id, sep, key = location.partition(":")
    if not sep or not target_id or not key:
        raise OutOfScope(f"remote location {location!r} is not 'target_id:key'")
    return target_id, key


def location(target_id: str, key: str) -> str:
    return f"{target_id}:{key}"
