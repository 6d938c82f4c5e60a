"""The database boundary: the declarative base, the engine, and the request's session.

The session dependency commits when the request handler returns (before the response is
sent, so a client's next request sees the change) and rolls back when it raises; services and
repositories never commit. What must happen only once a change is committed (publishing it,
waking the outbox relay) is registered with `after_commit`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Hashable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

from dockback_gateway.errors import DomainError

log = logging.getLogger(__name__)

_PENDING = "dockback.after_commit"  # the open transaction's callbacks, by key
_LISTENING = "dockback.after_commit_listening"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table of the gateway. Relationships are lazy="raise": load what you use, explicitly."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012 - SQLAlchemy reads it as is


def make_engine(url: str) -> AsyncEngine:
    return create_async_engine(url, pool_pre_ping=True)


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed if the handler returns, rolled back if it raises.

    Committed before the response leaves (the dependency's scope is the handler, not the whole
    request): a client acts on a response at once, e.g. a browser sends the new session cookies
    of a login with its next request, which must find that session."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except DomainError as exc:
            await (session.commit() if exc.keep_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]


def after_commit(
    db: AsyncSession, callback: Callable[[], None], *, key: Hashable | None = None, latest: bool = False
) -> None:
    """Call `callback` once `db`'s current transaction has committed; never if it rolls back.

    Callbacks run in the order registered, on the event loop's thread, inside `commit()`:
    they must not block (start a task for I/O). One that raises is logged and the others
    still run: the transaction has committed by then, and the caller's request succeeded.
    With `key`, a second callback under the same key in the same transaction is dropped
    (one snapshot publication for several changes); with `latest` too, it replaces the first
    instead (a job's news: listeners hear the state the transaction committed, not the steps)."""
    pending: dict[Hashable, Callable[[], None]] = db.info.setdefault(_PENDING, {})
    if key is None:
        pending[object()] = callback
    elif latest:
        pending.pop(key, None)
        pending[key] = callback
    else:
        pending.setdefault(key, callback)
    if not db.info.get(_LISTENING):
        # Listeners for the session's lifetime: each commit runs what its transaction
        # registered, each rollback forgets it, whichever comes first.
        db.info[_LISTENING] = True
        event.listen(db.sync_session, "after_commit", _run_pending)
        event.listen(db.sync_session, "after_rollback", _drop_pending)


def _run_pending(session: Session) -> None:
    for callback in session.info.pop(_PENDING, {}).values():
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed (the transaction has committed)")


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
