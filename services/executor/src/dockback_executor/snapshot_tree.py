"""The answer to the Backups page's question (`SnapshotTreeQuery`): the entries directly inside a
directory of a snapshot in one of this host's repositories, listed by restic (`ls --json`) in a
runner. Only this host's repositories open here: their passwords come from this executor's own
share of the settings."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Any

from dockback_contracts.control import SNAPSHOT_TREE_MOST_ENTRIES, SnapshotEntry, SnapshotTree, SnapshotTreeQuery
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import ResticRunner
from dockback_runtime.jobs.errors import JobError

log = logging.getLogger(__name__)


async def snapshot_tree(
    restic: ResticRunner | None, repositories: RepositoryKeys, host_id: str, query: SnapshotTreeQuery
) -> SnapshotTree:
    """The directory's entries by name; a problem is said, not raised."""
    if restic is None:
        problem = "restic runs in runner containers, which cannot work on this host (the executor's log says why)"
        return SnapshotTree(host_id=host_id, path=query.path, problem=problem)
    try:
        repository = await repositories.repository(query.repository)
        nodes = await restic.list_directory(repository, query.snapshot_id, query.volume, query.path, uuid.uuid4())
    except JobError as exc:
        log.info("could not list %s in snapshot %s: %s", query.path, query.snapshot_id[:8], exc)
        return SnapshotTree(host_id=host_id, path=query.path, problem=str(exc))
    entries = sorted((_entry(node) for node in nodes), key=lambda e: e.name)
    return SnapshotTree(
        host_id=host_id,
        path=query.path,
        entries=tuple(entries[:SNAPSHOT_TREE_MOST_ENTRIES]),
        truncated=len(entries) > SNAPSHOT_TREE_MOST_ENTRIES,
    )


def _entry(node: dict[str, Any]) -> SnapshotEntry:
    return SnapshotEntry(
        name=str(node.get("name", "")),
        path=str(node.get("path", "")),
        type=str(node.get("type", "")),
        size=node.get("size") if node.get("type") == "file" else None,
        mode=node.get("mode"),
        uid=node.get("uid"),
        gid=node.get("gid"),
        mtime=restic_time(node.get("mtime")),
    )


def restic_time(value: object) -> datetime | None:
    """restic's RFC 3339 time with nanoseconds, to the microsecond."""
    if not isinstance(value, str):
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        return datetime.fromisoformat(trimmed)
    except ValueError:
        return None
