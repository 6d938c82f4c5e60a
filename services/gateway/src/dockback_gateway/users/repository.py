"""Reading accounts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.users.models import MfaPolicy, Role, User

# Held until the transaction ends by every change that could leave no enabled admin, so two
# admins demoting each other at once cannot both pass the "another admin remains" check.
_ADMIN_SET_LOCK = 0x0D0CAD1


async def all_users(db: AsyncSession) -> Sequence[User]:
    return (await db.scalars(select(User).order_by(func.lower(User.username)))).all()


async def by_id_for_update(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    query = select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    return await db.scalar(query)


async def username_taken(db: AsyncSession, username: str) -> bool:
    """Usernames are unique whatever their case."""
    return bool(await db.scalar(select(func.count()).where(func.lower(User.username) == username.lower())))


async def lock_admin_set(db: AsyncSession) -> None:
    await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMIN_SET_LOCK})


async def enabled_admins(db: AsyncSession) -> int:
    query = select(func.count()).where(User.role == Role.ADMIN, User.disabled.is_(False))
    return int(await db.scalar(query) or 0)


async def mfa_policy_for_update(db: AsyncSession) -> MfaPolicy:
    """The MFA policy's row (made on first use), locked until the transaction ends."""
    await db.execute(insert(MfaPolicy).values(id=1, required_roles=[]).on_conflict_do_nothing())
    query = select(MfaPolicy).with_for_update().execution_options(populate_existing=True)
    return (await db.scalars(query)).one()
