"""The relay: publishes committed outbox rows to JetStream until the server acknowledges them.

Rows are taken with `FOR UPDATE SKIP LOCKED`, so several gateways relay side by side without
publishing a row at the same time; a row published twice (a crash after the publish, before
the mark) is stored once, because its id is the `Nats-Msg-Id`. Woken right after a commit
that wrote to the outbox, and polls every `poll_seconds` for rows other gateways wrote or
that failed before.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

from faststream.nats import NatsBroker
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_gateway.outbox.models import OutboxMessage
from dockback_gateway.outbox.service import on_commit_wake
from dockback_runtime.delivery import wait_until_set

log = logging.getLogger(__name__)

_BATCH = 100
_MAX_BACKOFF = 30.0
_KEEP_PUBLISHED = timedelta(days=7)


class OutboxRelay:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker, *, poll_seconds: float = 1.0
    ) -> None:
        self.sessions = sessions
        self.broker = broker
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._forgot_at = datetime.min.replace(tzinfo=UTC)
        self._unregister = on_commit_wake(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled."""
        backoff = self.poll_seconds
        try:
            while True:
                self._wake.clear()
                try:
                    done = await self.publish_pending()
                except Exception:
                    log.warning("outbox relay failed; retrying in %.0fs", backoff, exc_info=True)
                    done = False
                backoff = self.poll_seconds if done else min(backoff * 2, _MAX_BACKOFF)
                await wait_until_set(self._wake, backoff)
        finally:
            self._unregister()

    async def publish_pending(self) -> bool:
        """Publish every pending row in batches; False if a publish failed (left for later)."""
        while True:
            async with self.sessions.begin() as db:
                rows = (
                    await db.scalars(
                        select(OutboxMessage)
                        .where(OutboxMessage.published_at.is_(None))
                        .order_by(OutboxMessage.created_at, OutboxMessage.id)
                        .limit(_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                for row in rows:
                    try:
                        await self.broker.connection.jetstream().publish(
                            row.subject,
                            json.dumps(row.payload).encode(),
                            headers={"Nats-Msg-Id": str(row.id)},
                            timeout=5.0,
                        )
                    except Exception as exc:
                        row.attempts += 1
                        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                        log.warning("outbox: publishing %s to %s failed: %s", row.id, row.subject, row.last_error)
                        return False
                    row.published_at = datetime.now(UTC)
            if len(rows) < _BATCH:
                await self._forget_old()
                return True

    async def _forget_old(self) -> None:
        """Delete rows published long ago (at most once an hour)."""
        if datetime.now(UTC) - self._forgot_at < timedelta(hours=1):
            return
        self._forgot_at = datetime.now(UTC)
        async with self.sessions.begin() as db:
            await db.execute(
                delete(OutboxMessage).where(OutboxMessage.published_at < datetime.now(UTC) - _KEEP_PUBLISHED)
            )
