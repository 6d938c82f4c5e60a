"""The /metrics server of every service (DOCKBACK_METRICS_PORT) and the metrics every job-running
service shares: jobs by outcome, their duration, consumer lag, the last successful backup.

Off unless DOCKBACK_METRICS_PORT is set (suggested in containers: 9100 for every service); listens on
DOCKBACK_METRICS_HOST (default 0.0.0.0, so the Prometheus container can scrape it). The gateway's
metrics are on this port too, never on its public API port: they name plans and hosts by id.

A metric only one service records lives in that service's own `metrics` module. Label values are
ids and enums, never free text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator

from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from dockback_contracts.streams import ConsumerSpec

log = logging.getLogger(__name__)

METRICS_PORT_ENV = "DOCKBACK_METRICS_PORT"
METRICS_HOST_ENV = "DOCKBACK_METRICS_HOST"
LAG_INTERVAL_ENV = "DOCKBACK_METRICS_LAG_INTERVAL_SECONDS"

JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)

JOBS = Counter(
    "dockback_jobs_total",
    "Jobs handled, by service, kind (backup, restore, verify, prune) and outcome "
    "(succeeded, failed, retried, cancelled, interrupted, handed_back)",
    ["service", "kind", "outcome"],
)
JOB_DURATION = Histogram(
    "dockback_job_duration_seconds",
    "How long a job's attempt took in this service, by kind and outcome",
    ["service", "kind", "outcome"],
    buckets=JOB_BUCKETS,
)
LAST_BACKUP = Gauge(
    "dockback_last_successful_backup_timestamp_seconds",
    "Unix time of the last successful backup of a plan (plan_id; 'none' for one-off backups)",
    ["plan_id"],
)
CONSUMER_PENDING = Gauge(
    "dockback_consumer_pending_messages",
    "Messages of a JetStream consumer not yet delivered (num_pending)",
    ["stream", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "dockback_consumer_ack_pending_messages",
    "Messages of a JetStream consumer delivered but not yet acknowledged (num_ack_pending)",
    ["stream", "consumer"],
)


def serve_metrics() -> int | None:
    """Start the /metrics server when DOCKBACK_METRICS_PORT is set; return the port, or None."""
    port_text = os.environ.get(METRICS_PORT_ENV, "").strip()
    if not port_text:
        return None
    try:
        port = int(port_text)
    except ValueError:
        raise SystemExit(f"{METRICS_PORT_ENV} must be a port number, not {port_text!r}") from None
    host = os.environ.get(METRICS_HOST_ENV, "0.0.0.0").strip() or "0.0.0.0"  # noqa: S104 - see module doc
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        raise SystemExit(f"cannot serve metrics on {host}:{port} ({exc.strerror})") from None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return port


def lag_interval() -> float:
    return float(os.environ.get(LAG_INTERVAL_ENV, "15"))


async def sample_consumer_lag(
    js: JetStreamContext, specs: Iterable[ConsumerSpec], interval: float | None = None
) -> None:
    """Every `interval` seconds, read each consumer's num_pending and num_ack_pending (until cancelled)."""
    specs = list(specs)
    every = lag_interval() if interval is None else interval
    while True:
        for spec in specs:
            with contextlib.suppress(Exception):  # a missing consumer or a reconnect: try again next round
                info = await js.consumer_info(spec.stream, spec.durable, timeout=2)
                CONSUMER_PENDING.labels(spec.stream, spec.durable).set(info.num_pending or 0)
                CONSUMER_ACK_PENDING.labels(spec.stream, spec.durable).set(info.num_ack_pending or 0)
        await asyncio.sleep(every)


class JobResult:
    """What a job's attempt came to; set by the handler, counted when the attempt ends."""

    def __init__(self) -> None:
        self.outcome = "succeeded"


@contextlib.contextmanager
def job_metrics(service: str, kind: str) -> Iterator[JobResult]:
    """Count one attempt of a job and time it. An exception out of the block is a retry (a nack),
    or, for a cancellation (shutdown), an interrupted attempt that is redone later."""
    result = JobResult()
    started = time.monotonic()
    try:
        yield result
    except asyncio.CancelledError:
        result.outcome = "interrupted"
        raise
    except Exception:
        result.outcome = "retried"
        raise
    finally:
        JOBS.labels(service, kind, result.outcome).inc()
        JOB_DURATION.labels(service, kind, result.outcome).observe(time.monotonic() - started)


_last_backup: dict[str, float] = {}


def mark_backup_succeeded(plan_id: str, at: float) -> None:
    """Move a plan's last-success time forward (a fact replayed out of order never moves it back)."""
    if at > _last_backup.get(plan_id, 0.0):
        _last_backup[plan_id] = at
        LAST_BACKUP.labels(plan_id).set(at)
