"""Sessions, pending MFA logins and failed-login counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class Session(Base):
    """A logged-in browser. Access tokens name it (`sid`), so revoking it ends them at once.

    Refresh tokens rotate: each refresh stores the new token's hash and generation; a token
    of an older generation coming back means it was stolen, and the session is revoked. The
    token rotated out last still renews the access token for a few seconds after
    `rotated_at` (two tabs refreshing at once), without rotating again.
    """

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_hash: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(default=1)
    previous_refresh_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)


class PendingLogin(Base):
    """A password that was right, waiting for its TOTP (or recovery) code."""

    __tablename__ = "pending_logins"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    wrong_codes: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]


class LoginBrake(Base):
    """The password and code attempts of one key in its current window (auth.brakes): an account
    from untrusted clients (`account:<name>`), a device cookie (`device:<nonce>`), a logged-in
    session re-entering its password (`session:<id>`), a client address (`ip:<address>`).

    Counted with one upsert before the password or code is checked, so concurrent attempts
    cannot all pass the same count."""

    __tablename__ = "login_brakes"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempts: Mapped[int]
    window_started_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime] = mapped_column(index=True)
