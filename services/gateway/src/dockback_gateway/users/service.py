"""Accounts: the first admin, and changing one's password."""

from __future__ import annotations

import logging
import secrets
import string

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.auth.dependencies import Principal
from dockback_gateway.auth.passwords import check_policy, hash_password, verify_password
from dockback_gateway.auth.service import end_other_sessions
from dockback_gateway.errors import Invalid, NotAuthenticated
from dockback_gateway.users.models import Role, User
from dockback_gateway.users.schemas import UserOut

log = logging.getLogger(__name__)
_FIRST_BOOT_LOCK = 0x0D0CF1B
_ALPHABET = string.ascii_letters + string.digits


def random_password(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def ensure_first_admin(db: AsyncSession) -> str | None:
    """On an empty database, create `admin` with a random password and return it (else None).

    An advisory lock makes concurrent first starts create exactly one admin.
    """
    await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_BOOT_LOCK})
    if await db.scalar(select(func.count()).select_from(User)):
        return None
    password = random_password()
    db.add(User(username="admin", password_hash=hash_password(password), role=Role.ADMIN, must_change_password=True))
    await record(
        db,
        action="user.create",
        outcome="success",
        actor="system",
        origin=Origin(),
        target="admin",
        details={"first_boot": True},
    )
    return password


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        disabled=user.disabled,
        must_change_password=user.must_change_password,
        mfa_enabled=user.totp_enabled,
    )


async def change_password(db: AsyncSession, principal: Principal, current: str, new: str, origin: Origin) -> None:
    """Needs the current password; ends every other session of the user."""
    user = principal.user
    if not verify_password(user.password_hash, current):
        await record(
            db,
            action="user.password_change",
            outcome="failure",
            actor=user.username,
            origin=origin,
            target=user.username,
        )
        raise NotAuthenticated("the current password is wrong", keep_changes=True)
    check_policy(new, user.username)
    if verify_password(user.password_hash, new):
        raise Invalid("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = func.now()
    await end_other_sessions(db, user.id, keep=principal.session.id, reason="password changed")
    await record(
        db, action="user.password_change", outcome="success", actor=user.username, origin=origin, target=user.username
    )
