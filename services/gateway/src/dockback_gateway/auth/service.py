"""Logging in (password, then TOTP or a recovery code), sessions, refresh rotation, logout,
and the brute-force brakes. Never commits: the request's session does."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.auth import repository
from dockback_gateway.auth.models import PendingLogin, Session
from dockback_gateway.auth.passwords import hashed, matches, needs_rehash
from dockback_gateway.auth.tokens import RefreshToken, digest, issue_access_token, new_secret_token
from dockback_gateway.auth.totp import accept_totp
from dockback_gateway.errors import NotAuthenticated, TooManyAttempts
from dockback_gateway.keys import Cipher
from dockback_gateway.users.models import User

ACCOUNT_FAILURES_PER_HOUR = 100
IP_FAILURES_PER_15_MINUTES = 200
FREE_FAILURES = 5  # failures before the delay starts doubling
MAX_DELAY_SECONDS = 300
MFA_WINDOW = timedelta(minutes=5)
MFA_MAX_WRONG_CODES = 5
WRONG_CREDENTIALS = "invalid username or password"


@dataclass(frozen=True)
class AuthConfig:
    secret_key: str
    access_minutes: int
    refresh_days: int
    cipher: Cipher


@dataclass(frozen=True)
class IssuedSession:
    """What the browser gets: cookie values."""

    access: str
    refresh: str
    csrf: str
    user: User


@dataclass(frozen=True)
class LoginOutcome:
    session: IssuedSession | None = None
    mfa_token: str | None = None


def recovery_code_digest(secret_key: str, code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(secret_key.encode(), normalised.encode(), "sha256").hexdigest()


async def brake(db: AsyncSession, account: str, origin: Origin) -> None:
    """Refuse before checking a password when an account or address is being hammered (login,
    and every other place that checks a password).

    The delay doubles with each failure past the first few and ends on its own, so the
    real user can log in again once an attack stops. Refused attempts are not counted.
    """
    now = datetime.now(UTC)
    hour_ago = now - timedelta(hours=1)
    count, last = await repository.failures_of_account(db, account, since=hour_ago)
    if count >= ACCOUNT_FAILURES_PER_HOUR:
        raise TooManyAttempts(
            "too many failed logins for this account; try again later", headers={"Retry-After": "3600"}
        )
    if count >= FREE_FAILURES and last is not None:
        delay = min(2 ** (count - FREE_FAILURES), MAX_DELAY_SECONDS)
        wait = (last + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            raise TooManyAttempts(
                f"too many failed logins; try again in {int(wait) + 1} s",
                headers={"Retry-After": str(int(wait) + 1)},
            )
    if origin.ip:
        by_ip = await repository.failures_from_address(db, origin.ip, since=now - timedelta(minutes=15))
        if by_ip >= IP_FAILURES_PER_15_MINUTES:
            raise TooManyAttempts(
                "too many failed logins from this address; try again later", headers={"Retry-After": "900"}
            )


def remember_failure(db: AsyncSession, account: str, origin: Origin) -> None:
    """Count a wrong password against the account and the address (kept even though the request fails)."""
    repository.add_failure(db, account.lower(), origin.ip or "-")


class AuthService:
    def __init__(self, db: AsyncSession, config: AuthConfig, origin: Origin) -> None:
        self.db = db
        self.config = config
        self.origin = origin

    # -- password step -------------------------------------------------------------------

    async def login(self, username: str, password: str) -> LoginOutcome:
        account = username.strip().lower()
        await brake(self.db, account, self.origin)
        user = await repository.user_by_login_name(self.db, account)
        ok = await matches(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            remember_failure(self.db, account, self.origin)
            await record(
                self.db,
                action="login",
                outcome="failure",
                actor=None,
                origin=self.origin,
                target=account,
                details={"reason": "disabled" if user and ok else "wrong credentials"},
            )
            raise NotAuthenticated(WRONG_CREDENTIALS, keep_changes=True)
        if needs_rehash(user.password_hash):
            user.password_hash = await hashed(password)
        if user.totp_enabled:
            token = new_secret_token()
            self.db.add(
                PendingLogin(user_id=user.id, token_hash=digest(token), expires_at=datetime.now(UTC) + MFA_WINDOW)
            )
            await record(
                self.db,
                action="login.password",
                outcome="success",
                actor=user.username,
                origin=self.origin,
                details={"mfa": "required"},
            )
            return LoginOutcome(mfa_token=token)
        return LoginOutcome(session=await self._start_session(user))

    # -- second factor -------------------------------------------------------------------

    async def complete_mfa(self, mfa_token: str, code: str | None, recovery_code: str | None) -> IssuedSession:
        pending = await repository.pending_login_for_update(self.db, digest(mfa_token))
        if pending is None or pending.expires_at <= datetime.now(UTC):
            raise NotAuthenticated("the login has expired; enter your password again")
        user = await self.db.get(User, pending.user_id, with_for_update=True)
        if user is None or user.disabled:
            raise NotAuthenticated(WRONG_CREDENTIALS)
        if code is not None and accept_totp(self.config.cipher, user, code):
            method = "totp"
        elif recovery_code is not None and await self._use_recovery_code(user, recovery_code):
            method = "recovery_code"
        else:
            pending.wrong_codes += 1
            if pending.wrong_codes >= MFA_MAX_WRONG_CODES:
                await self.db.delete(pending)
            await record(self.db, action="login.mfa", outcome="failure", actor=user.username, origin=self.origin)
            if pending.wrong_codes >= MFA_MAX_WRONG_CODES:
                raise NotAuthenticated("too many wrong codes; enter your password again", keep_changes=True)
            raise NotAuthenticated("wrong or already used code", keep_changes=True)
        await self.db.delete(pending)
        return await self._start_session(user, mfa=method)

    async def _use_recovery_code(self, user: User, code: str) -> bool:
        wanted = recovery_code_digest(self.config.secret_key, code)
        return await repository.use_recovery_code(self.db, user.id, wanted, at=datetime.now(UTC))

    # -- sessions --------------------------------------------------------------------------

    async def _start_session(self, user: User, mfa: str | None = None) -> IssuedSession:
        secret = new_secret_token()
        session = Session(
            user_id=user.id,
            refresh_hash=digest(secret),
            generation=1,
            expires_at=datetime.now(UTC) + timedelta(days=self.config.refresh_days),
            ip=self.origin.ip,
            user_agent=(self.origin.user_agent or "")[:255] or None,
        )
        self.db.add(session)
        await self.db.flush()
        await repository.forget_failures(self.db, user.username.lower())
        await record(
            self.db,
            action="login",
            outcome="success",
            actor=user.username,
            origin=self.origin,
            details={"session": str(session.id), **({"mfa": mfa} if mfa else {})},
        )
        return self._issue(user, session, secret)

    def _issue(self, user: User, session: Session, secret: str) -> IssuedSession:
        access = issue_access_token(self.config.secret_key, user.id, session.id, self.config.access_minutes)
        refresh = RefreshToken(session.id, session.generation, secret).encode()
        return IssuedSession(access=access, refresh=refresh, csrf=new_secret_token(), user=user)

    async def refresh(self, cookie: str) -> IssuedSession:
        """Rotate the refresh token; an old one coming back means theft: the session is revoked."""
        token = RefreshToken.parse(cookie)
        session = await self.db.get(Session, token.session_id, with_for_update=True)
        now = datetime.now(UTC)
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise NotAuthenticated("the session has ended; log in again")
        current = token.generation == session.generation and hmac.compare_digest(
            digest(token.secret), session.refresh_hash
        )
        if not current:
            session.revoked_at, session.revoked_reason = now, "refresh token reuse"
            await record(
                self.db,
                action="session.reuse_detected",
                outcome="failure",
                actor=None,
                origin=self.origin,
                target=str(session.id),
            )
            raise NotAuthenticated("this refresh token was already used; the session is revoked", keep_changes=True)
        user = await self.db.get(User, session.user_id)
        if user is None or user.disabled:
            raise NotAuthenticated("this account is disabled")
        secret = new_secret_token()
        session.generation += 1
        session.refresh_hash = digest(secret)
        await record(
            self.db,
            action="session.refresh",
            outcome="success",
            actor=user.username,
            origin=self.origin,
            target=str(session.id),
        )
        return self._issue(user, session, secret)

    async def logout(self, session: Session, actor: str) -> None:
        session.revoked_at, session.revoked_reason = datetime.now(UTC), "logout"
        await record(
            self.db, action="logout", outcome="success", actor=actor, origin=self.origin, target=str(session.id)
        )


async def end_other_sessions(db: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID | None, reason: str) -> None:
    """Revoke every session of a user but `keep` (password or MFA change, role change, disabling)."""
    await repository.revoke_sessions(db, user_id, keep, reason, at=datetime.now(UTC))
