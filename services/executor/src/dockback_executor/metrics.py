"""The executor's own metrics (the shared ones, jobs and consumer lag, are in dockback_runtime.metrics)."""

from __future__ import annotations

import time

from prometheus_client import Counter

from dockback_contracts import events as ev
from dockback_runtime.metrics import mark_backup_succeeded

ARCHIVED_BYTES = Counter("dockback_archived_bytes_total", "Bytes of archives written by the executor")


def observe_published(event: ev.Event) -> None:
    """Count what an announced fact says was written."""
    if isinstance(event, ev.ArchiveCreated):
        ARCHIVED_BYTES.inc(event.archive.size_bytes)
        if event.last_of_job and event.plan_id is not None:
            mark_backup_succeeded(str(event.plan_id), time.time())
