"""The requests the gateway puts on the jobs stream for the hosts, read back by sequence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nats.js.errors import NotFoundError

from dockback_contracts.streams import JOBS_STREAM
from gateway.conftest import Gateway
from harness.eventually import eventually


@dataclass(frozen=True)
class Request:
    subject: str
    message_id: str | None
    body: dict[str, Any]


async def requests_on(gateway: Gateway, subject: str) -> list[Request]:
    """Every message on `subject` of the jobs stream, read by sequence without a consumer (a
    consumer on a work-queue stream would compete with the hosts' own)."""
    js = gateway.app.state.broker.connection.jetstream()
    found: list[Request] = []
    seq = 1
    while True:
        try:
            message = await js.get_msg(JOBS_STREAM, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return found
        assert message.data is not None
        assert message.seq is not None
        found.append(Request(subject, (message.headers or {}).get("Nats-Msg-Id"), json.loads(message.data)))
        seq = message.seq + 1


async def exactly_one(gateway: Gateway, subject: str) -> Request:
    """Wait for the first request on `subject`, then make sure no second one follows."""
    await eventually(lambda: requests_on(gateway, subject), timeout=10)
    found = await requests_on(gateway, subject)
    assert len(found) == 1, [r.body for r in found]
    return found[0]
