"""CSRF defence for cookie-authenticated requests: origin check plus a double-submit token."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

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


class CsrfCheck:
    """Pure ASGI middleware (a `BaseHTTPMiddleware` would end a streamed response that breaks off
    as if it were complete): unsafe requests from another origin, or with a session cookie but
    without the double-submit header, are refused before the app sees them."""

    def __init__(self, app: ASGIApp, base_url: str, cookies: CookiePolicy) -> None:
        self.app = app
        self.allowed_origin = _origin(base_url)
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            problem = self._problem(Request(scope))
            if problem is not None:
                await JSONResponse({"error": "csrf", "detail": problem}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _problem(self, request: Request) -> str | None:
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in (self.allowed_origin, _own_origin(request)):
            return f"requests from {origin} are not allowed; DockBack is served from {self.allowed_origin}"
        site = request.headers.get("sec-fetch-site")
        if origin is None and site is not None and site not in ("same-origin", "none"):
            return "cross-site requests are not allowed"
        cookies = self.cookies
        session_cookie = request.cookies.get(cookies.access) or request.cookies.get(cookies.refresh)
        if session_cookie is not None:
            expected = request.cookies.get(cookies.csrf, "")
            sent = request.headers.get(HEADER, "")
            if not expected or not hmac.compare_digest(expected, sent):
                return f"missing or wrong {HEADER} header (it must repeat the {cookies.csrf} cookie)"
        return None
