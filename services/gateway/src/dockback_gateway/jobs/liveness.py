"""Whether a host is online, as far as jobs are concerned: its executors' heartbeats."""

from __future__ import annotations

from datetime import datetime, timedelta

from dockback_gateway.resources.models import Host

MISSED_HEARTBEATS = 3
"""A host is offline once this many heartbeat intervals passed without one."""

DEFAULT_HEARTBEAT_SECONDS = 30.0
"""The interval assumed for a host that never said what its interval is."""


def host_online(host: Host | None, now: datetime) -> bool:
    if host is None or host.heartbeat_at is None:
        return False
    interval = host.heartbeat_interval_seconds or DEFAULT_HEARTBEAT_SECONDS
    return now - host.heartbeat_at <= timedelta(seconds=MISSED_HEARTBEATS * interval)


def last_heard_of(host: Host | None) -> str:
    """For a reason a person reads: when the host's last heartbeat was."""
    if host is None or host.heartbeat_at is None:
        return "never heard from"
    return f"last heartbeat {host.heartbeat_at.isoformat(timespec='seconds')}"
