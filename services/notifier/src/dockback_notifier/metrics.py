"""The notifier's own metrics."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS = Counter(
    "dockback_notifications_total",
    "Alerts and digests the notifier sent, by channel kind (smtp, webhook) and outcome (sent, failed)",
    ["channel", "outcome"],
)
