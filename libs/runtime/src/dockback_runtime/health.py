"""`dockback-<service> ping`: the container healthcheck of the event-driven services.

Exit 0 when a fresh NATS connection with the service's own settings and credentials completes a
round trip (and, for the executor, the Docker engine answers); otherwise exit 1 with one line on
stderr saying why. Never retries: the healthcheck's own interval and retries do that.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats
from nats.aio.client import Client

PING_TIMEOUT_SECONDS = 5.0


class PingFailed(Exception):
    """One clear reason why the service is not healthy."""


async def ping_nats(
    connect_kwargs: dict[str, Any],
    *,
    timeout: float = PING_TIMEOUT_SECONDS,  # noqa: ASYNC109 - passed on to connect and flush as well
    name: str = "dockback-ping",
) -> float:
    """Connect with `nats.connect(**connect_kwargs)`, flush and measure the round trip (seconds)."""
    errors: list[str] = []
    servers = ",".join(connect_kwargs.get("servers", []))

    async def on_error(exc: Exception) -> None:
        errors.append(_reason(exc))

    nc: Client | None = None
    try:
        nc = await asyncio.wait_for(
            nats.connect(
                **connect_kwargs,
                name=name,
                allow_reconnect=False,
                max_reconnect_attempts=1,  # 0 would mean "no limit" on the first connect
                reconnect_time_wait=0.1,
                connect_timeout=timeout,
                error_cb=on_error,
            ),
            timeout,
        )
        await nc.flush(timeout=max(1, int(timeout)))
        return float(await nc.rtt())
    except TimeoutError:
        detail = errors[-1] if errors else f"no answer within {timeout:.0f}s"
        raise PingFailed(f"NATS at {servers}: {detail}") from None
    except Exception as exc:  # every failure becomes one line for the healthcheck
        detail = errors[-1] if errors else _reason(exc)
        raise PingFailed(f"NATS at {servers}: {detail}") from None
    finally:
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):  # closing a probe connection: nothing to report
                await asyncio.wait_for(nc.close(), 2)


def service_connect_kwargs(settings: Any) -> dict[str, Any]:
    """The service's own NATS connection options: servers, credentials, TLS (connection.py)."""
    try:
        from dockback_runtime.connection import connect_options
    except ImportError:  # before the shared NATS settings: URL and .creds file only
        creds = getattr(settings, "nats_credentials_file", None)
        return {"servers": settings.nats_url.split(","), "user_credentials": str(creds) if creds else None}
    return connect_options(settings)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    kind = type(exc).__name__
    if not text or text == kind:
        return kind
    return f"{kind}: {text}" if kind not in text else text


def run_ping(checks: Sequence[Callable[[], Awaitable[str]]], timeout: float = PING_TIMEOUT_SECONDS) -> int:
    """Run each check (each returns a short 'ok' description); print one line; return the exit code."""

    async def all_checks() -> list[str]:
        done = []
        for check in checks:
            try:
                done.append(await asyncio.wait_for(check(), timeout + 1))
            except TimeoutError:
                raise PingFailed(f"no answer within {timeout:.0f}s") from None
        return done

    try:
        results = asyncio.run(all_checks())
    except PingFailed as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # one line, not a traceback, for the healthcheck log
        print(f"unhealthy: {_reason(exc)}", file=sys.stderr)
        return 1
    print("ok: " + "; ".join(results))
    return 0


def nats_check(settings: Any, name: str) -> Callable[[], Awaitable[str]]:
    """The check of a service's NATS connection, with its own settings and credentials."""

    async def check() -> str:
        rtt = await ping_nats(service_connect_kwargs(settings), name=name)
        return f"NATS round trip {rtt * 1000:.1f} ms"

    return check


def http_check(url: str, timeout: float = PING_TIMEOUT_SECONDS) -> Callable[[], Awaitable[str]]:
    """GET url; healthy on a 2xx answer (the gateway's /health says 503 when its database or NATS is down)."""

    async def check() -> str:
        def get() -> str:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own URL
                    return f"{url} answered {response.status}"
            except urllib.error.HTTPError as exc:
                body = exc.read(300).decode(errors="replace").strip()
                raise PingFailed(f"{url} answered {exc.code}: {body}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                raise PingFailed(f"{url}: {_reason(reason) if isinstance(reason, BaseException) else reason}") from None

        return await asyncio.to_thread(get)

    return check
