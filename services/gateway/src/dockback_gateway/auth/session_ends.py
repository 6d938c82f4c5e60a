"""The open event streams of this process, by session: ended at once when their session ends
(logout, revocation: a password, role or second-factor change, disabling), and at most
`MAX_STREAMS_PER_USER` open per user.

A session ended on another gateway replica is noticed by the stream's own check of its
session at each heartbeat (jobs/routes.py); one ended here is announced after its commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.db import after_commit
from dockback_gateway.errors import DomainError

MAX_STREAMS_PER_USER = 8


class TooManyStreams(DomainError):
    status_code = 429
    error = "too_many_streams"


class SessionEnds:
    def __init__(self) -> None:
        self._by_session: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._by_user: dict[uuid.UUID, int] = {}

    def check_room(self, user_id: uuid.UUID) -> None:
        """429 when the user already has MAX_STREAMS_PER_USER streams open here."""
        if self._by_user.get(user_id, 0) >= MAX_STREAMS_PER_USER:
            raise TooManyStreams(
                f"at most {MAX_STREAMS_PER_USER} event streams per user are open at once; close another one first"
            )

    @contextmanager
    def watch(self, session_id: uuid.UUID, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set when the session ends, for as long as the stream is open (already set
        when the user has no room left: streams that raced past `check_room` end at once)."""
        ended = asyncio.Event()
        if self._by_user.get(user_id, 0) >= MAX_STREAMS_PER_USER:
            ended.set()
        self._by_session.setdefault(session_id, set()).add(ended)
        self._by_user[user_id] = self._by_user.get(user_id, 0) + 1
        try:
            yield ended
        finally:
            watchers = self._by_session.get(session_id, set())
            watchers.discard(ended)
            if not watchers:
                self._by_session.pop(session_id, None)
            self._by_user[user_id] -= 1
            if not self._by_user[user_id]:
                del self._by_user[user_id]

    def end(self, sessions: Iterable[uuid.UUID]) -> None:
        for session_id in sessions:
            for ended in self._by_session.get(session_id, ()):
                ended.set()

    def after_commit(self, db: AsyncSession, sessions: Iterable[uuid.UUID]) -> None:
        """End the streams of `sessions` once `db`'s transaction commits."""
        ended = list(sessions)
        if ended:
            after_commit(db, lambda: self.end(ended))


SESSION_ENDS = SessionEnds()
"""This process's open streams."""
