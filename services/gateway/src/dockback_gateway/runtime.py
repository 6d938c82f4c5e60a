"""What the gateway's background parts share: the database, the broker, the outbox relay.

Each domain with background work has a `worker` module with two functions, called by the
app's lifespan:

- `register(broker, runtime) -> list[ConsumerSpec]`: add its JetStream subscribers (before
  the broker starts); the app creates or updates the consumers named before subscribing.
- `async run(runtime) -> None`: its loops (a reconciler, a relay); cancelled at shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_gateway.config import Settings
from dockback_gateway.keys import Cipher

if TYPE_CHECKING:
    from dockback_gateway.outbox.relay import OutboxRelay


@dataclass
class Runtime:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    broker: NatsBroker
    cipher: Cipher
    relay: OutboxRelay
    state: dict[str, Any] = field(default_factory=dict)  # per-domain objects, keyed by domain name

    @property
    def js(self) -> JetStreamContext:
        return self.broker.connection.jetstream()
