"""Publishing an event through JetStream until the server acknowledges it.

A publish counts only once the stream acked it: a core-NATS publish can vanish in a
reconnect, and the scheduler is the only one who knows a slot is due. Retrying is safe
because every event carries its natural key as `Nats-Msg-Id` (the job id for a request),
so a publish that did land but whose ack was lost is dropped as a duplicate by the server
inside the stream's duplicate window (2 h).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: doubling from ``first`` up to ``cap``, with ±20 % jitter so that
    replicas and plans that failed together do not retry in lockstep."""

    first: float = 0.25
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * 2 ** max(0, attempt - 1))
        return float(base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not cryptography


DEFAULT_BACKOFF = Backoff()

TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.js.errors.Error,  # NoStreamResponseError while JetStream restarts, APIError 503, ...
    TimeoutError,
)
"""What a publish may raise while the server is away or restarting: worth another attempt."""


class Publisher:
    """Publishes contract events on their subjects with their message ids, acked."""

    def __init__(self, js: JetStreamContext, *, timeout: float = 5.0, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self._js = js
        self._timeout = timeout
        self._backoff = backoff

    async def publish(self, event: ev.Event, *, keep_trying: Callable[[], bool] | None = None) -> bool:
        """Publish ``event`` until the stream acks it; True once acked.

        Retries transient failures with backoff for as long as ``keep_trying()`` says so
        (forever without it) and returns False when it says to stop. A closed connection
        (the service is stopping) raises.
        """
        subject = subjects.subject_for(event)
        headers = {"Nats-Msg-Id": subjects.message_id(event), "content-type": "application/json"}
        payload = event.model_dump_json().encode()
        stream = streams.stream_for(event)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._js.publish(subject, payload, timeout=self._timeout, stream=stream, headers=dict(headers))
            except nats.errors.ConnectionClosedError:
                raise
            except TRANSIENT as exc:
                if keep_trying is not None and not keep_trying():
                    log.warning("gave up publishing %s on %s after %d attempts: %r", event.type, subject, attempt, exc)
                    return False
                delay = self._backoff.delay(attempt)
                if attempt == 1 or attempt % 10 == 0:
                    log.warning("publishing %s on %s failed (%r); retrying in %.1fs", event.type, subject, exc, delay)
                await asyncio.sleep(delay)
            else:
                return True
