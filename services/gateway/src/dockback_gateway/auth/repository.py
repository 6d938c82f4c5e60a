"""Reading and writing sessions, pending MFA logins, failed-login counters and recovery codes;
never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.models import PendingLogin, Session
from dockback_gateway.users.models import RecoveryCode, User

# -- logging in ---------------------------------------------------------------------------


async def user_by_login_name(db: AsyncSession, account: str) -> User | None:
    """The user whose name is `account` whatever its case (`account` is lower case)."""
    return await db.scalar(select(User).where(func.lower(User.username) == account))


async def account_of_pending_login(engine: AsyncEngine, token_hash: str) -> str | None:
    """The login name (lower case) of the user a pending login belongs to, on a short connection of its own."""
    query = select(func.lower(User.username)).join(PendingLogin, PendingLogin.user_id == User.id)
    async with engine.connect() as connection:
        return await connection.scalar(query.where(PendingLogin.token_hash == token_hash))


async def pending_login_for_update(db: AsyncSession, token_hash: str) -> PendingLogin | None:
    return await db.scalar(select(PendingLogin).where(PendingLogin.token_hash == token_hash).with_for_update())


# -- sessions -----------------------------------------------------------------------------


async def revoke_sessions(
    db: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID | None, reason: str, at: datetime
) -> list[uuid.UUID]:
    """Revoke every open session of a user but `keep`; the ones revoked."""
    query = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if keep is not None:
        query = query.where(Session.id != keep)
    revoked = await db.execute(query.values(revoked_at=at, revoked_reason=reason).returning(Session.id))
    return list(revoked.scalars())


# -- recovery codes -----------------------------------------------------------------------


async def use_recovery_code(db: AsyncSession, user_id: uuid.UUID, code_hash: str, at: datetime) -> bool:
    """Mark the user's unused code with that hash used; whether there was one."""
    used = await db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None))
        .values(used_at=at)
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


async def unused_recovery_codes(db: AsyncSession, user_id: uuid.UUID) -> int:
    query = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return int(await db.scalar(query) or 0)


async def delete_recovery_codes(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


def add_recovery_codes(db: AsyncSession, user_id: uuid.UUID, code_hashes: list[str]) -> None:
    db.add_all(RecoveryCode(user_id=user_id, code_hash=code_hash) for code_hash in code_hashes)


# -- MFA enrolment ------------------------------------------------------------------------


async def wrong_confirmations(db: AsyncSession, username: str) -> int:
    """Failed MFA confirmations of the user since their latest enrolment started, from the audit log."""
    started = (
        select(func.max(AuditEntry.id))
        .where(
            AuditEntry.action == "mfa.enrolment_start",
            AuditEntry.outcome == "success",
            AuditEntry.target == username,
        )
        .scalar_subquery()
    )
    wrong = await db.scalar(
        select(func.count()).where(
            AuditEntry.action == "mfa.enable",
            AuditEntry.outcome == "failure",
            AuditEntry.target == username,
            AuditEntry.id > started,
        )
    )
    return int(wrong or 0)
