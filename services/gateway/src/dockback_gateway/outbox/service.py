"""Writing to the outbox: in the caller's transaction, published only after it commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import subjects
from dockback_contracts.base import Event
from dockback_gateway.db import after_commit
from dockback_gateway.outbox.models import OutboxMessage

_WAKE_RELAYS = "outbox wake"
_wakers: set[Callable[[], None]] = set()


def on_commit_wake(waker: Callable[[], None]) -> Callable[[], None]:
    """Call `waker` after every commit that wrote to the outbox (the relay registers itself);
    returns the function that unregisters it."""
    _wakers.add(waker)
    return lambda: _wakers.discard(waker)


def enqueue(db: AsyncSession, event: Event, *, message_id: uuid.UUID | None = None) -> OutboxMessage:
    """Add `event` to the outbox in `db`'s transaction. Its `Nats-Msg-Id` is the row's id:
    pass the job id as `message_id` for a request's first publication (as the scheduler does)."""
    row = OutboxMessage(
        id=message_id or uuid.uuid4(), subject=subjects.subject_for(event), payload=event.model_dump(mode="json")
    )
    db.add(row)
    after_commit(db, _wake_relays, key=_WAKE_RELAYS)
    return row


def _wake_relays() -> None:
    for wake in list(_wakers):
        wake()
