"""The web UI's port: the built single-page app, and the API under /api on the same origin (so
the session cookies and the CSRF check work unchanged). One server listens on both ports; a
request is routed by the port it came in on."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/api"
# The UI's own script and styles only; the API's QR codes are inline SVG and images may be data: URLs.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def default_dist() -> Path:
    """services/web/dist in a source checkout (what `make up` builds)."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


class WebUi:
    """Static files of the built UI; any other GET path answers index.html (the app routes it)."""

    def __init__(self, api: ASGIApp, dist: Path) -> None:
        self.api = api
        self.dist = dist.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the API's lifespan runs once, from the dispatcher
            return
        path: str = scope["path"]
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            inner = dict(scope, path=path[len(API_PREFIX) :] or "/", raw_path=None, root_path="")
            await self.api(inner, receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"text/plain", b"method not allowed\n", [(b"allow", b"GET, HEAD")])
            return
        await self._static(scope, send)

    async def _static(self, scope: Scope, send: Send) -> None:
        index = self.dist / "index.html"
        if not index.is_file():
            body = b"The DockBack web UI is not built: run `make web` (or `make up`), then reload.\n"
            await _respond(send, 503, b"text/plain; charset=utf-8", body)
            return
        wanted = (self.dist / scope["path"].lstrip("/")).resolve()
        inside = wanted.is_relative_to(self.dist) and wanted.is_file()
        if inside and wanted != index:
            kind = mimetypes.guess_type(wanted.name)[0] or "application/octet-stream"
            # Vite names assets by their content hash: they never change under one name.
            immutable = wanted.parent.name == "assets"
            cache = b"public, max-age=31536000, immutable" if immutable else b"no-cache"
            await _respond(send, 200, kind.encode(), wanted.read_bytes(), [(b"cache-control", cache)], scope)
        elif scope["path"].startswith("/assets/"):
            await _respond(send, 404, b"text/plain", b"not found\n")
        else:
            html = index.read_bytes()
            await _respond(send, 200, b"text/html; charset=utf-8", html, [(b"cache-control", b"no-cache")], scope)


async def _respond(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    scope: Scope | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    head_only = scope is not None and scope.get("method") == "HEAD"
    await send({"type": "http.response.body", "body": b"" if head_only else body})


class ByPort:
    """Routes each request to the web UI or the API by the local port it arrived on."""

    def __init__(self, api: ASGIApp, web: ASGIApp, web_port: int) -> None:
        self.api, self.web, self.web_port = api, web, web_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server: Any = scope.get("server")
        if scope["type"] != "lifespan" and server and server[1] == self.web_port:
            await self.web(scope, receive, send)
        else:
            await self.api(scope, receive, send)
