"""Accounts: the first admin, changing one's password, and the administration of accounts."""

from __future__ import annotations

import logging
import secrets
import string
import uuid
from collections.abc import Sequence
from typing import NoReturn

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.auth.dependencies import Principal
from dockback_gateway.auth.models import PendingLogin
from dockback_gateway.auth.passwords import check_policy, hashed, matches
from dockback_gateway.auth.service import AuthConfig, check_password_in_session, end_other_sessions
from dockback_gateway.errors import Conflict, DomainError, Invalid, NotAuthenticated, NotFound
from dockback_gateway.users import repository
from dockback_gateway.users.models import MfaPolicy, RecoveryCode, Role, User
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
    db.add(User(username="admin", password_hash=await hashed(password), role=Role.ADMIN, must_change_password=True))
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
        last_login_at=user.last_login_at,
    )


async def change_password(
    db: AsyncSession, config: AuthConfig, principal: Principal, current: str, new: str, origin: Origin
) -> None:
    """Needs the current password (braked per session); ends every other session of the user."""
    user = principal.user
    if not await check_password_in_session(db, config, principal.session.id, user.password_hash, current):
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
    if await matches(user.password_hash, new):
        raise Invalid("the new password must differ from the current one")
    user.password_hash = await hashed(new)
    user.must_change_password = False
    user.password_changed_at = func.now()
    await end_other_sessions(db, user.id, keep=principal.session.id, reason="password changed")
    await _drop_pending_logins(db, user.id)
    await record(
        db, action="user.password_change", outcome="success", actor=user.username, origin=origin, target=user.username
    )


async def _drop_pending_logins(db: AsyncSession, user_id: uuid.UUID) -> None:
    """A password step passed with the old password (or before a change) must not complete."""
    await db.execute(delete(PendingLogin).where(PendingLogin.user_id == user_id))


async def _end_every_session(db: AsyncSession, user: User, reason: str) -> None:
    await end_other_sessions(db, user.id, keep=None, reason=reason)
    await _drop_pending_logins(db, user.id)


class UserAdministration:
    """What admins do to accounts. Every change and every refusal is audited; never commits."""

    def __init__(self, db: AsyncSession, actor: Principal, origin: Origin) -> None:
        self.db = db
        self.actor = actor.user
        self.origin = origin

    async def list_users(self) -> Sequence[User]:
        return await repository.all_users(self.db)

    async def get(self, user_id: uuid.UUID) -> User:
        user = await self.db.get(User, user_id)
        if user is None:
            raise NotFound("no user with this id")
        return user

    async def create(self, username: str, role: Role, password: str) -> User:
        """A new account with a temporary password, to be changed at first login."""
        action = "user.create"
        if await repository.username_taken(self.db, username):
            await self._refuse(action, username, Conflict(f"the username {username} is taken (case does not count)"))
        try:
            check_policy(password, username)
        except Invalid as exc:
            await self._refuse(action, username, exc)
        user = User(
            username=username,
            password_hash=await hashed(password),
            role=role.value,
            must_change_password=True,
        )
        try:
            async with self.db.begin_nested():
                self.db.add(user)
                await self.db.flush()
        except IntegrityError:  # created by someone else since the check above
            await self._refuse(action, username, Conflict(f"the username {username} is taken (case does not count)"))
        await self._audit(action, "success", username, role=role.value)
        return user

    async def update(self, user_id: uuid.UUID, role: Role | None, disabled: bool | None) -> User:
        """Change the role and/or disable or enable; never leaves no enabled admin.

        A role change or disabling ends every session of the user at once.
        """
        await repository.lock_admin_set(self.db)
        user = await self._target("user.update", user_id)
        new_role = role.value if role is not None else user.role
        new_disabled = disabled if disabled is not None else user.disabled
        was_admin = user.role == Role.ADMIN and not user.disabled
        stays_admin = new_role == Role.ADMIN and not new_disabled
        if was_admin and not stays_admin and await repository.enabled_admins(self.db) <= 1:
            action = "user.disable" if new_disabled and not user.disabled else "user.role_change"
            await self._refuse(
                action,
                user.username,
                Conflict(f"{user.username} is the last enabled admin: make another user admin first"),
            )
        end_sessions = False
        if new_role != user.role:
            await self._audit("user.role_change", "success", user.username, **{"from": user.role, "to": new_role})
            user.role, end_sessions = new_role, True
        if new_disabled != user.disabled:
            await self._audit("user.disable" if new_disabled else "user.enable", "success", user.username)
            user.disabled = new_disabled
            end_sessions = end_sessions or new_disabled
        if end_sessions:
            await _end_every_session(self.db, user, "disabled" if user.disabled else "role changed")
        return user

    async def reset_password(self, user_id: uuid.UUID, password: str) -> None:
        """Set a temporary password: the user must change it at next login; every session ends."""
        action = "user.password_reset"
        user = await self._target(action, user_id)
        if user.id == self.actor.id:
            await self._refuse(
                action,
                user.username,
                Conflict("to change your own password use POST /users/me/password (it needs the current one)"),
            )
        try:
            check_policy(password, user.username)
        except Invalid as exc:
            await self._refuse(action, user.username, exc)
        user.password_hash = await hashed(password)
        user.must_change_password = True
        user.password_changed_at = func.now()
        await _end_every_session(self.db, user, "password reset")
        await self._audit(action, "success", user.username)

    async def reset_mfa(self, user_id: uuid.UUID) -> None:
        """Turn the user's MFA off and delete the recovery codes; every session ends."""
        action = "user.mfa_reset"
        user = await self._target(action, user_id)
        if user.id == self.actor.id:
            await self._refuse(
                action,
                user.username,
                Conflict("to turn off your own MFA use POST /users/me/mfa/disable (it needs your password)"),
            )
        if not user.totp_enabled and user.totp_secret is None:
            await self._refuse(action, user.username, Conflict(f"{user.username} has no MFA to reset"))
        user.totp_enabled, user.totp_secret, user.totp_last_step = False, None, None
        await self.db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        await _end_every_session(self.db, user, "mfa reset")
        await self._audit(action, "success", user.username)

    async def delete(self, user_id: uuid.UUID) -> None:
        """Delete the account: its sessions and event streams end at once; the audit log keeps
        its name (rows store names, not ids). Never one's own account, never the last admin."""
        action = "user.delete"
        await repository.lock_admin_set(self.db)
        user = await self._target(action, user_id)
        if user.id == self.actor.id:
            await self._refuse(
                action, user.username, Conflict("you cannot delete your own account: another admin can delete it")
            )
        if user.role == Role.ADMIN and not user.disabled and await repository.enabled_admins(self.db) <= 1:
            await self._refuse(
                action,
                user.username,
                Conflict(f"{user.username} is the last enabled admin: make another user admin first"),
            )
        await _end_every_session(self.db, user, "deleted")
        await self._audit(action, "success", user.username, role=user.role)
        await self.db.delete(user)
        await self.db.flush()

    async def mfa_policy(self) -> list[Role]:
        """The roles whose users must have a second factor."""
        policy = await self.db.get(MfaPolicy, 1)
        return _in_role_order(policy.required_roles if policy else [])

    async def set_mfa_policy(self, roles: list[Role]) -> list[Role]:
        """Require a second factor of every user of `roles` (none: of nobody). Users without one
        are sent to enrol at their next request; their sessions stay."""
        policy = await repository.mfa_policy_for_update(self.db)
        before, after = _in_role_order(policy.required_roles), _in_role_order(roles)
        if before != after:
            policy.required_roles = [role.value for role in after]
            await self._audit(
                "mfa_policy.change",
                "success",
                "mfa policy",
                **{"from": ", ".join(before) or "nobody", "to": ", ".join(after) or "nobody"},
            )
        return after

    async def _target(self, action: str, user_id: uuid.UUID) -> User:
        user = await repository.by_id_for_update(self.db, user_id)
        if user is None:
            await self._refuse(action, str(user_id), NotFound("no user with this id"))
        return user

    async def _refuse(self, action: str, target: str, error: DomainError) -> NoReturn:
        """Audit the refusal and keep that row: nothing else has changed at this point."""
        await self._audit(action, "failure", target, reason=error.detail)
        error.keep_changes = True
        raise error

    async def _audit(self, action: str, outcome: str, target: str, **details: object) -> None:
        await record(
            self.db,
            action=action,
            outcome=outcome,
            actor=self.actor.username,
            origin=self.origin,
            target=target,
            details=details,
        )


def _in_role_order(roles: Sequence[str]) -> list[Role]:
    return [role for role in Role if role.value in roles]
