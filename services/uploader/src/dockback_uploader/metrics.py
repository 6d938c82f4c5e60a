"""The uploader's own metrics (the shared ones, jobs and consumer lag, are in dockback_runtime.metrics)."""

from __future__ import annotations

from prometheus_client import Counter

from dockback_contracts import events as ev

UPLOADED_BYTES = Counter("dockback_uploaded_bytes_total", "Bytes copied to remote targets by the uploader")


def observe_published(event: ev.Event) -> None:
    """Count what an announced fact says was uploaded."""
    if isinstance(event, ev.UploadCompleted):
        UPLOADED_BYTES.inc(event.size_bytes)
