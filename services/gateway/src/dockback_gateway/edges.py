"""What every request to the API passes before anything parses it: a Host the gateway answers
to, and a body no larger than `DOCKBACK_MAX_REQUEST_BYTES`.

- **Host.** A page on another site can point its own name at this gateway's address (DNS
  rebinding) and then talk to it as a same-origin page; its requests carry that name in
  `Host`. Only the host name of `DOCKBACK_BASE_URL`, the loopback names (health checks, the dev
  server's proxy) and `DOCKBACK_ALLOWED_HOSTS` are answered; any other is refused with 421
  Misdirected Request before routing.
- **Body size.** A declared `Content-Length` over the limit is refused with 413 before the
  handler runs; a body without one (chunked) is counted as it streams in and refused the moment
  it passes the limit, so no request makes the gateway buffer more than the limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_name(host_header: str) -> str:
    """The host name of a `Host` header (`[::1]:8080` -> `::1`, `Example.org.` -> `example.org`)."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") <= 1 else value


def allowed_hosts(base_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names the gateway answers to: the base URL's, the loopback ones, and `extra`."""
    names = {urlsplit(base_url).hostname or "", *LOOPBACK_HOSTS, *(host_name(e) for e in extra)}
    return frozenset(name for name in names if name)


async def _problem(send: Send, status: int, error: str, detail: str) -> None:
    """A refusal in the shape of every API error (`errors.Problem`)."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HostAllowList:
    """Refuses requests whose `Host` is not one the gateway answers to (421)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host", "")
            if host_name(host) not in self.allowed:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await _problem(
                    send,
                    421,
                    "misdirected_request",
                    f"this gateway does not answer to the host {host!r}: use the address in "
                    "DOCKBACK_BASE_URL (or add the name to DOCKBACK_ALLOWED_HOSTS)",
                )
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413), declared or streamed.

    A streamed body that passes the limit gets its 413 at once; the application then sees the
    client gone (`http.disconnect`), so its body is never parsed, and whatever it would have
    answered is dropped."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def _too_large(self) -> str:
        return f"the request body is larger than {self.limit} bytes, the most this API accepts"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _problem(send, 400, "bad_request", f"Content-Length: {declared!r} is not a byte count")
                return
            if int(declared) > self.limit:
                await _problem(send, 413, "content_too_large", self._too_large())
                return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await _problem(send, 413, "content_too_large", self._too_large())
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, watched_send)
