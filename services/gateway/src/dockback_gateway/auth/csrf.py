"""CSRF defence for cookie-authenticated requests: origin check plus a double-submit token."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from dockback_gateway.auth.cookies import CookiePolicy

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "X-CSRF-Token"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origin(request: Request) -> str:
    """The origin the request was sent to: a page served by this process (the web UI on its own
    port, or the API's docs) is same-origin. A cross-site page cannot choose the Host header
    its browser sends, so it cannot match this."""
    return f"{request.url.scheme}://{request.headers.get('host', '')}".lower()


def csrf_middleware(base_url: str, cookies: CookiePolicy) -> Callable[..., Awaitable[Response]]:
    allowed_origin = _origin(base_url)

    def refuse(detail: str) -> Response:
        return JSONResponse({"error": "csrf", "detail": detail}, status_code=403)

    async def check(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method in SAFE_METHODS:
            return await call_next(request)
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in (allowed_origin, _own_origin(request)):
            return refuse(f"requests from {origin} are not allowed; DockBack is served from {allowed_origin}")
        site = request.headers.get("sec-fetch-site")
        if origin is None and site is not None and site not in ("same-origin", "none"):
            return refuse("cross-site requests are not allowed")
        session_cookie = request.cookies.get(cookies.access) or request.cookies.get(cookies.refresh)
        if session_cookie is not None:
            expected = request.cookies.get(cookies.csrf, "")
            sent = request.headers.get(HEADER, "")
            if not expected or not hmac.compare_digest(expected, sent):
                return refuse(f"missing or wrong {HEADER} header (it must repeat the {cookies.csrf} cookie)")
        return await call_next(request)

    return check
