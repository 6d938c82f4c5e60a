"""The gateway's own metrics: API latency and every job's end as recorded (served on
DOCKBACK_METRICS_PORT, never on the API port)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class HttpMetrics:
    """Time each request by route template (`/api/jobs/{job_id}`, never the raw path), up to its
    response's start (an event stream or a download lasts as long as it is read). Pure ASGI
    middleware: a `BaseHTTPMiddleware` would end a streamed response that breaks off as if it were
    complete."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            observed = True
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"  # a 404 must not create a series per path
            HTTP_DURATION.labels(scope["method"], template, str(status)).observe(time.perf_counter() - started)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not observed:
                observe(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            if not observed:
                observe(500)
