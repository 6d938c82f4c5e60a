"""The brute-force brakes: every password or second-factor attempt is counted before it is checked.

Each attempt claims one count on each of its keys with a single upsert that returns the new
count, committed at once in its own short transaction: concurrent attempts queue on the row
for a moment and each sees the count the ones before it left, so they cannot all pass the same
count (they could when the count was read first and the failure written after the check). An
attempt the brake refuses is not counted.

Which keys an attempt counts against (OWASP, "Slow down online guessing attacks with device cookies"):
- from an untrusted client: its address (`ip:`) and the account (`account:`);
- from a browser holding a device cookie this account was issued at a successful login:
  that device only (`device:`), so whoever hammers the account from elsewhere does not
  lock its owner out of a browser they logged in from before;
- a logged-in user re-entering their password: that session (`session:`).

A successful login forgets the account's (or device's) attempts; a right password that still
needs its second factor gives its count back, so only wrong passwords and wrong codes remain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dockback_gateway.auth.models import LoginBrake
from dockback_gateway.errors import TooManyAttempts

MAX_DELAY_SECONDS = 300
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    window: timedelta
    most: int  # attempts per window
    free: int | None  # attempts before each further one waits 2^(n - free) s after the last; None: no delay
    refusal: str


PER_ACCOUNT = Limit(timedelta(hours=1), 100, 5, "too many failed logins for this account")
PER_DEVICE = Limit(timedelta(hours=1), 100, 5, "too many failed logins from this browser")
PER_SESSION = Limit(timedelta(hours=1), 100, 5, "too many wrong passwords")
PER_ADDRESS = Limit(timedelta(minutes=15), 200, None, "too many failed logins from this address")


@dataclass(frozen=True)
class Attempt:
    """The keys one attempt counts against."""

    keys: tuple[tuple[str, Limit], ...]

    @classmethod
    def login(cls, account: str, ip: str | None, device: str | None) -> Attempt:
        """A login of `account` (lower case); `device` is the nonce of a device cookie issued to it."""
        if device is not None:
            return cls(((f"device:{device}", PER_DEVICE),))
        by_address = ((f"ip:{ip}", PER_ADDRESS),) if ip else ()
        return cls((*by_address, (f"account:{account}", PER_ACCOUNT)))

    @classmethod
    def in_session(cls, session_id: uuid.UUID) -> Attempt:
        return cls(((f"session:{session_id}", PER_SESSION),))


def _delay(attempts: int, free: int) -> float:
    return float(min(2 ** max(attempts - free, 0), MAX_DELAY_SECONDS))


async def claim(where: AsyncEngine | AsyncSession, attempt: Attempt) -> None:
    """Count the attempt on each of its keys before the password or code is checked; refuse it
    (uncounted on that key) when a key's limit is reached.

    On an engine (before the request holds a connection), each count is committed at once. In a
    request's session, the row stays locked until that request ends: concurrent attempts on the
    key wait for it and then see its count (used for the per-session key, where only the same
    session's requests wait)."""
    for key, limit in attempt.keys:
        now = datetime.now(UTC)
        table = LoginBrake.__table__.c
        ended = table.window_started_at <= now - limit.window
        allowed = table.attempts < limit.most
        if limit.free is not None:
            delay = func.least(func.power(2, func.greatest(table.attempts - limit.free, 0)), MAX_DELAY_SECONDS)
            waited = table.last_attempt_at + literal_column("interval '1 second'") * delay <= now
            allowed = and_(allowed, or_(table.attempts < limit.free, waited))
        fresh = insert(LoginBrake).values(key=key, attempts=1, window_started_at=now, last_attempt_at=now)
        upsert = fresh.on_conflict_do_update(
            index_elements=[table.key],
            set_={
                "attempts": case((ended, 1), else_=table.attempts + 1),
                "window_started_at": case((ended, now), else_=table.window_started_at),
                "last_attempt_at": now,
            },
            where=or_(ended, allowed),
        ).returning(table.attempts)
        if isinstance(where, AsyncSession):
            counted = (await where.execute(upsert)).scalar_one_or_none()
            if counted is None:
                row = (await where.execute(select(LoginBrake.__table__).where(table.key == key))).one()
        else:
            async with where.begin() as connection:
                counted = (await connection.execute(upsert)).scalar_one_or_none()
                if counted is None:
                    row = (await connection.execute(select(LoginBrake.__table__).where(table.key == key))).one()
        if counted is None:
            _refuse(limit, row.attempts, row.window_started_at, row.last_attempt_at, now)


def _refuse(limit: Limit, attempts: int, window_started_at: datetime, last: datetime, now: datetime) -> None:
    if attempts >= limit.most:
        wait = (window_started_at + limit.window - now).total_seconds()
        message = f"{limit.refusal}; try again later"
    else:
        wait = (last + timedelta(seconds=_delay(attempts, limit.free or 0)) - now).total_seconds()
        message = f"{limit.refusal}; try again in {int(wait) + 1} s"
    raise TooManyAttempts(message, headers={"Retry-After": str(max(int(wait) + 1, 1))})


async def failed(db: AsyncSession, attempt: Attempt) -> None:
    """A wrong password or code: the delay runs from now, when it was found wrong, not from the
    claim before the slow check (which would end it early). In the request's transaction, which
    the refusal commits."""
    keys = [key for key, limit in attempt.keys if limit.free is not None]
    await db.execute(update(LoginBrake).where(LoginBrake.key.in_(keys)).values(last_attempt_at=datetime.now(UTC)))


async def succeeded(db: AsyncSession, attempt: Attempt) -> None:
    """A successful login: the account's, device's or session's attempts are forgotten, the
    address gives this one back (many users may share it). Part of the request's transaction."""
    for key, _ in attempt.keys:
        if key.startswith("ip:"):
            await _give_back(db, key)
        else:
            await db.execute(delete(LoginBrake).where(LoginBrake.key == key))
    await db.execute(delete(LoginBrake).where(LoginBrake.last_attempt_at < datetime.now(UTC) - FORGET_AFTER))


async def right_password(db: AsyncSession, attempt: Attempt) -> None:
    """A right password still waiting for its second factor: its count is given back."""
    for key, _ in attempt.keys:
        await _give_back(db, key)


async def _give_back(db: AsyncSession, key: str) -> None:
    await db.execute(
        update(LoginBrake)
        .where(LoginBrake.key == key, LoginBrake.attempts > 0)
        .values(attempts=LoginBrake.attempts - 1)
    )
