"""The settings users store: S3 targets, the SMTP server, webhooks, defaults.

Secret columns hold ciphertext (AES-256-GCM with the app's encryption key), each bound to
its setting's name (`settings.secret_names`), never the value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, CheckConstraint, LargeBinary, String, false, func
from sqlalchemy.orm import Mapped, mapped_column

from dockback_gateway.db import Base

ID_LENGTH = 64
SmtpSecurity = Literal["starttls", "tls", "none"]


class SettingsRevision(Base):
    """One row: the settings' revision, raised by every change (the snapshot's `revision`).

    Writers lock this row first, so changes to settings happen one at a time.
    """

    __tablename__ = "settings_revision"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class S3Target(Base):
    """An S3-compatible bucket archives are copied to."""

    __tablename__ = "settings_s3_targets"

    target_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255))
    secure: Mapped[bool]
    region: Mapped[str | None] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(63))
    prefix: Mapped[str] = mapped_column(String(512))
    access_key: Mapped[bytes] = mapped_column(LargeBinary)  # ciphertext
    secret_key: Mapped[bytes] = mapped_column(LargeBinary)  # ciphertext
    part_size_bytes: Mapped[int] = mapped_column(BigInteger)
    verify_full_read: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SmtpServer(Base):
    """One row at most: the mail server alerts go through."""

    __tablename__ = "settings_smtp"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    security: Mapped[SmtpSecurity] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext
    from_address: Mapped[str] = mapped_column(String(254))
    recipients: Mapped[list[Any]] = mapped_column(JSON)
    succeeded_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Webhook(Base):
    """A URL that receives a JSON POST per alert. The URL is a secret (a Slack-style URL is a
    credential): stored encrypted, shown only by its host name (`url_host`)."""

    __tablename__ = "settings_webhooks"

    webhook_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    url: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext; None only until sealed at start
    url_host: Mapped[str] = mapped_column(String(255))
    # The URL in clear as stored before migration 0011; the gateway encrypts it into `url` at start.
    url_plaintext: Mapped[str | None] = mapped_column(String(2048))
    signing_secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext
    slack_format: Mapped[bool]
    succeeded_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SettingsDefaults(Base):
    """One row at most: defaults for new plans and for links in alerts."""

    __tablename__ = "settings_defaults"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    default_compression: Mapped[str] = mapped_column(String(8))
    ui_base_url: Mapped[str | None] = mapped_column(String(2048))  # None: the gateway's DOCKBACK_BASE_URL
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
