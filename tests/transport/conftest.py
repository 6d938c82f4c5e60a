"""A NATS connection with DockBack's streams declared, as the gateway declares them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest_asyncio
from nats.aio.client import Client
from nats.js import JetStreamContext

from dockback_gateway.streams import declare_streams


@pytest_asyncio.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture
async def js(nc: Client) -> JetStreamContext:
    context = nc.jetstream()
    await declare_streams(context)
    return context
