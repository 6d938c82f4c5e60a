"""Refused attempts in the audit log: every 403 of the policy check leaves a row, rate-limited.

A viewer who tries what its role may not do (twelve POSTs, or a script in a loop) must leave a
trace an admin can find, but a loop must not flood the table. The audit log is append-only and
chained by hash (a trigger refuses UPDATE), so a refusal cannot be counted by an SQL upsert into
an existing row; instead a small in-memory limiter per gateway decides which refusals are
written: the first refusal of an actor on a route (method + route template) writes a row at
once; the ones that follow within a minute are only counted, and the first refusal after the
minute writes the next row with that count folded in (`details.refusals`: this one and those
counted since the previous row). Per gateway process: with several gateways each writes at most
one row per actor+route per minute, still bounded; after a restart the next refusal is written
at once. The count of a burst that nothing follows is lost with the process; the burst's first
row is there.

Written in its own transaction (the request's is rolled back with the 403), and a failure to
write is logged, never raised: the caller is refused whatever happens to the row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from dockback_gateway.audit.service import record

log = logging.getLogger(__name__)

ACTION = "access.refused"
WINDOW_SECONDS = 60.0
# Actors are accounts and routes come from the code, so the keys are few; past this many the
# ones whose window has ended are forgotten (their next refusal is written at once, as it would be).
MAX_KEYS = 10_000

Key = tuple[str | None, str, str]


@dataclass
class _Window:
    started: float
    counted: int  # refusals since the last written row, not written


class RefusalLimiter:
    """Which refusals to write: at most one row per actor and route per `window` seconds."""

    def __init__(self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._windows: dict[Key, _Window] = {}

    def admit(self, key: Key) -> int | None:
        """The number of refusals the row to write now stands for, or None: only counted."""
        now = self.clock()
        current = self._windows.get(key)
        if current is not None and now - current.started < self.window:
            current.counted += 1
            return None
        if len(self._windows) >= MAX_KEYS:
            self._forget_ended(now)
        self._windows[key] = _Window(started=now, counted=0)
        return 1 + (current.counted if current else 0)

    def _forget_ended(self, now: float) -> None:
        for key in [k for k, w in self._windows.items() if now - w.started >= self.window]:
            del self._windows[key]


def limiter_of(request: Request) -> RefusalLimiter:
    state = request.app.state
    if getattr(state, "refusal_limiter", None) is None:
        state.refusal_limiter = RefusalLimiter()
    limiter: RefusalLimiter = state.refusal_limiter
    return limiter


async def record_refusal(request: Request, *, actor: str | None, role: str | None, reason: str) -> None:
    """Write the refusal's audit row if the limiter admits it; never raises."""
    from dockback_gateway.auth.dependencies import origin_of  # import cycle: dependencies calls this

    route = getattr(request.scope.get("route"), "path", None) or request.url.path
    refusals = limiter_of(request).admit((actor, request.method, route))
    if refusals is None:
        return
    try:
        async with request.app.state.sessions.begin() as db:
            await record(
                db,
                action=ACTION,
                outcome="failure",
                actor=actor,
                origin=origin_of(request),
                target=f"{request.method} {route}"[:255],
                details={
                    "method": request.method,
                    "route": route,
                    "role": role,
                    "reason": reason,
                    "refusals": refusals,
                },
            )
    except Exception:
        log.exception("could not record a refused %s %s of %s", request.method, route, actor)
