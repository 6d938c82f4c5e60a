"""Accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base


class Role(StrEnum):
    """viewer: reads jobs, plans, backups and resources, changes nothing, never sees a secret;
    operator: also runs backups, restores and edits plans, but no hooks, bind mounts, settings
    or users; admin: everything."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(default=False)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # The TOTP secret is a secret: stored encrypted (AES-256-GCM, bound to the user id).
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    password_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The last successful login: the password, and the second factor when there is one.
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


# Usernames are unique regardless of case: "Admin" and "admin" are one account.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class MfaPolicy(Base):
    """One row at most: the roles whose users must have a second factor (none: no requirement).

    A user of such a role without one is sent to enrol after the password and can use nothing
    else until enrolled (auth.dependencies)."""

    __tablename__ = "mfa_policy"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    required_roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
