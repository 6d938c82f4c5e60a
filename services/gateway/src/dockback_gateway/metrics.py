"""The gateway's own metrics: API latency and every job's end as recorded (served on
DOCKBACK_METRICS_PORT, never on the API port)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response

from dockback_contracts import events as ev
from dockback_runtime.metrics import JOBS, mark_backup_succeeded

HTTP_DURATION = Histogram(
    "dockback_http_request_duration_seconds",
    "Gateway HTTP requests, by method, route template and status code",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


FOREIGN_FACTS = Counter(
    "dockback_gateway_foreign_facts_total",
    "Facts the gateway refused because they speak for another host than the one that published them, "
    "by fact type and reason (subject_host, job, artifact, plan)",
    ["kind", "reason"],
)
"""Refused by dockback_gateway.provenance: a host that speaks for another is compromised or misconfigured."""


def observe_recorded(event: ev.Event) -> None:
    """The gateway recorder's view: every job's end, once, whichever host ran it."""
    if isinstance(event, ev.JobSucceeded):
        JOBS.labels("gateway", event.kind, "succeeded").inc()
        if event.kind == "backup" and event.plan_id is not None:
            mark_backup_succeeded(str(event.plan_id), event.finished_at.timestamp())
    elif isinstance(event, ev.JobFailed):
        JOBS.labels("gateway", event.kind, "failed").inc()
    elif isinstance(event, ev.JobCancelled):
        JOBS.labels("gateway", event.kind, "cancelled").inc()


async def http_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Time each request by route template (`/api/jobs/{job_id}`, never the raw path)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "unmatched"  # a 404 must not create a series per path
        HTTP_DURATION.labels(request.method, template, str(status)).observe(time.perf_counter() - started)
