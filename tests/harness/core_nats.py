"""Core-NATS helpers for tests that subscribe on one connection and publish on another."""

from __future__ import annotations

from nats.aio.client import Client


async def server_has_subscriptions(nc: Client) -> None:
    """Return once the server has every subscription `nc` made so far.

    `flush()` alone does not promise it with nats-py 2.16: its PING is written straight to the
    socket, ahead of a SUB still queued for the client's flusher task, so the PONG can come back
    before the server has the subscription (a request sent then finds no responders). Waiting
    for the flusher to write what is queued first puts the PING behind the SUB.
    """
    await nc._flush_pending(force_flush=True)
    await nc.flush()
