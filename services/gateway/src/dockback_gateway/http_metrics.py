"""Latency of the API's requests, by route template (`/api/jobs/{job_id}`, never the raw path),
for dockback_http_request_duration_seconds. Served on DOCKBACK_METRICS_PORT, not on the API."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from dockback_contracts.metrics import HTTP_DURATION


async def http_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
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
