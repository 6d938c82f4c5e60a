"""Logging in (password, then TOTP or a recovery code), sessions, refresh rotation, logout,
and the brute-force brakes. Never commits: the request's session does."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.auth import brakes, repository
from dockback_gateway.auth.devices import device_of, issue_device_token
from dockback_gateway.auth.models import PendingLogin, Session
from dockback_gateway.auth.passwords import hashed, matches, needs_rehash
from dockback_gateway.auth.session_ends import SESSION_ENDS
from dockback_gateway.auth.tokens import RefreshToken, digest, issue_access_token, new_secret_token
from dockback_gateway.auth.totp import accept_totp, is_last_code_again
from dockback_gateway.errors import NotAuthenticated
from dockback_gateway.keys import Cipher
from dockback_gateway.users.models import User

MFA_WINDOW = timedelta(minutes=5)
MFA_MAX_WRONG_CODES = 5
WRONG_CREDENTIALS = "invalid username or password"
REUSED_CODE = "this code was already used; wait for the next one"


REFRESH_GRACE = timedelta(seconds=20)


@dataclass(frozen=True)
class AuthConfig:
    secret_key: str
    access_minutes: int
    refresh_days: int
    cipher: Cipher
    engine: AsyncEngine  # the brakes count on their own connection, committed at once


@dataclass(frozen=True)
class IssuedSession:
    """What the browser gets: cookie values."""

    access: str
    refresh: str | None  # None: keep the refresh cookie the browser has (a refresh within the grace)
    csrf: str
    user: User
    device: str | None = None  # a new device cookie, after a login


@dataclass(frozen=True)
class LoginOutcome:
    session: IssuedSession | None = None
    mfa_token: str | None = None


def recovery_code_digest(secret_key: str, code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(secret_key.encode(), normalised.encode(), "sha256").hexdigest()


async def check_password_in_session(
    db: AsyncSession, config: AuthConfig, session_id: uuid.UUID, stored_hash: str, password: str
) -> bool:
    """A logged-in user re-entering their password (to change it, or their second factor),
    braked per session: counted before the check, forgotten when right."""
    attempt = brakes.Attempt.in_session(session_id)
    await brakes.claim(db, attempt)
    if not await matches(stored_hash, password):
        await brakes.failed(db, attempt)
        return False
    await brakes.succeeded(db, attempt)
    return True


class AuthService:
    def __init__(self, db: AsyncSession, config: AuthConfig, origin: Origin, device_cookie: str | None = None) -> None:
        self.db = db
        self.config = config
        self.origin = origin
        self.device_cookie = device_cookie

    def _attempt(self, account: str) -> brakes.Attempt:
        device = device_of(self.config.secret_key, self.device_cookie, account)
        return brakes.Attempt.login(account, self.origin.ip, device)

    # -- password step -------------------------------------------------------------------

    async def login(self, username: str, password: str) -> LoginOutcome:
        account = username.strip().lower()
        attempt = self._attempt(account)
        await brakes.claim(self.config.engine, attempt)  # counted before the check: a wrong one stays counted
        user = await repository.user_by_login_name(self.db, account)
        ok = await matches(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            await brakes.failed(self.db, attempt)
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
            await brakes.right_password(self.db, attempt)  # the codes that follow are counted instead
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
        return LoginOutcome(session=await self._start_session(user, attempt))

    # -- second factor -------------------------------------------------------------------

    async def complete_mfa(self, mfa_token: str, code: str | None, recovery_code: str | None) -> IssuedSession:
        expired = NotAuthenticated("the login has expired; enter your password again")
        # Wrong codes count against the account's (or device's) brake like wrong passwords, so
        # starting fresh logins does not give a code guesser more tries. Counted before the
        # request's session takes a connection: one request never holds two.
        account = await repository.account_of_pending_login(self.config.engine, digest(mfa_token))
        if account is None:
            raise expired
        attempt = self._attempt(account)
        await brakes.claim(self.config.engine, attempt)
        pending = await repository.pending_login_for_update(self.db, digest(mfa_token))
        if pending is None or pending.expires_at <= datetime.now(UTC):
            raise expired
        user = await self.db.get(User, pending.user_id, with_for_update=True)
        if user is None or user.disabled:
            raise NotAuthenticated(WRONG_CREDENTIALS)
        if code is not None and accept_totp(self.config.cipher, user, code):
            method = "totp"
        elif recovery_code is not None and await self._use_recovery_code(user, recovery_code):
            method = "recovery_code"
        else:
            await brakes.failed(self.db, attempt)
            pending.wrong_codes += 1
            if pending.wrong_codes >= MFA_MAX_WRONG_CODES:
                await self.db.delete(pending)
            await record(self.db, action="login.mfa", outcome="failure", actor=user.username, origin=self.origin)
            if pending.wrong_codes >= MFA_MAX_WRONG_CODES:
                raise NotAuthenticated("too many wrong codes; enter your password again", keep_changes=True)
            if code is not None and is_last_code_again(self.config.cipher, user, code):
                raise NotAuthenticated(REUSED_CODE, keep_changes=True)
            raise NotAuthenticated("wrong code: enter the code your authenticator shows now", keep_changes=True)
        await self.db.delete(pending)
        return await self._start_session(user, attempt, mfa=method)

    async def _use_recovery_code(self, user: User, code: str) -> bool:
        wanted = recovery_code_digest(self.config.secret_key, code)
        return await repository.use_recovery_code(self.db, user.id, wanted, at=datetime.now(UTC))

    # -- sessions --------------------------------------------------------------------------

    async def _start_session(self, user: User, attempt: brakes.Attempt, mfa: str | None = None) -> IssuedSession:
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
        user.last_login_at = datetime.now(UTC)
        await self.db.flush()
        await brakes.succeeded(self.db, attempt)
        await record(
            self.db,
            action="login",
            outcome="success",
            actor=user.username,
            origin=self.origin,
            details={"session": str(session.id), **({"mfa": mfa} if mfa else {})},
        )
        device = issue_device_token(self.config.secret_key, user.username.lower())
        return replace(self._issue(user, session, secret), device=device)

    def _issue(self, user: User, session: Session, secret: str | None) -> IssuedSession:
        access = issue_access_token(self.config.secret_key, user.id, session.id, self.config.access_minutes)
        refresh = None
        if secret is not None:
            refresh = RefreshToken.issue(self.config.secret_key, session.id, session.generation, secret).encode()
        return IssuedSession(access=access, refresh=refresh, csrf=new_secret_token(), user=user)

    async def refresh(self, cookie: str) -> IssuedSession:
        """Rotate the refresh token. The token rotated out last still renews the access token
        within REFRESH_GRACE (two tabs refreshing at once); an older token of ours coming back
        means theft, and the session is revoked. A token we did not issue changes nothing."""
        token = RefreshToken.parse(cookie)
        session = await self.db.get(Session, token.session_id, with_for_update=True)
        now = datetime.now(UTC)
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise NotAuthenticated("the session has ended; log in again")
        presented = digest(token.secret)
        current = token.generation == session.generation and hmac.compare_digest(presented, session.refresh_hash)
        just_rotated = (
            token.generation == session.generation - 1
            and session.previous_refresh_hash is not None
            and hmac.compare_digest(presented, session.previous_refresh_hash)
            and session.rotated_at is not None
            and now - session.rotated_at <= REFRESH_GRACE
        )
        if not current and not just_rotated:
            if token.generation < session.generation and token.signed_by(self.config.secret_key):
                await self._revoke_for_reuse(session, now)
            raise NotAuthenticated("the refresh token is not valid; log in again")
        user = await self.db.get(User, session.user_id)
        if user is None or user.disabled:
            raise NotAuthenticated("this account is disabled")
        secret = None
        if current:
            secret = new_secret_token()
            session.previous_refresh_hash, session.rotated_at = session.refresh_hash, now
            session.generation += 1
            session.refresh_hash = digest(secret)
        await record(
            self.db,
            action="session.refresh",
            outcome="success",
            actor=user.username,
            origin=self.origin,
            target=str(session.id),
            details={} if current else {"rotated": "just before, by another tab"},
        )
        return self._issue(user, session, secret)

    async def _revoke_for_reuse(self, session: Session, now: datetime) -> NoReturn:
        session.revoked_at, session.revoked_reason = now, "refresh token reuse"
        SESSION_ENDS.after_commit(self.db, sessions=[session.id])
        await record(
            self.db,
            action="session.reuse_detected",
            outcome="failure",
            actor=None,
            origin=self.origin,
            target=str(session.id),
        )
        raise NotAuthenticated("this refresh token was already used; the session is revoked", keep_changes=True)

    async def logout(self, session: Session, actor: str) -> None:
        session.revoked_at, session.revoked_reason = datetime.now(UTC), "logout"
        SESSION_ENDS.after_commit(self.db, sessions=[session.id])
        await record(
            self.db, action="logout", outcome="success", actor=actor, origin=self.origin, target=str(session.id)
        )


async def end_other_sessions(db: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID | None, reason: str) -> None:
    """Revoke every session of a user but `keep` (password or MFA change, role change, disabling)."""
    ended = await repository.revoke_sessions(db, user_id, keep, reason, at=datetime.now(UTC))
    SESSION_ENDS.after_commit(db, sessions=ended)
