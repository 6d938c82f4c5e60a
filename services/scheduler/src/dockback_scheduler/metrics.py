"""The scheduler's own metrics."""

from __future__ import annotations

from prometheus_client import Histogram

FIRE_LAG = Histogram(
    "dockback_scheduler_fire_lag_seconds",
    "How late the scheduler published a due plan's BackupRequested, after its scheduled time",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
