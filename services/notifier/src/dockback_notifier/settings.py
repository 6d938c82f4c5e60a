"""Configuration of the notifier, read once from the environment (prefix DOCKBACK_)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dockback_runtime.connection import NatsClientSettings


class Settings(BaseSettings, NatsClientSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_NATS_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    log_level: str = "INFO"
    allow_private_targets: bool = Field(
        default=False,
        description="Allow SMTP servers and webhooks on private, loopback and link-local addresses (a relay "
        "on the LAN); by default they must resolve to public addresses only",
    )
    settings_key_file: Path | None = Field(
        default=None,
        description="Development without NATS credentials only: the gateway's settings key file, from which "
        "the notifier's sealing key is derived. With DOCKBACK_NATS_CREDENTIALS_FILE the key derives from "
        "the credentials and this is not needed",
    )
    instance_name: str = Field(default="notifier", description="How this instance names itself in check replies")
    digest_window_seconds: float = Field(
        default=300,
        gt=0,
        description="After an alert goes out on a channel, further alerts within this window are collected "
        "and sent as one digest when it ends",
    )
    succeeded_digest_seconds: float = Field(
        default=86400,
        gt=0,
        description="How often a channel with succeeded_digest gets its digest of the jobs that succeeded "
        "meanwhile (none when nothing did)",
    )
    delivery_retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0],
        description="Delays between the attempts to deliver an alert on a channel that failed (JSON list); "
        "after the last one the alert is logged as an error and given up",
    )
    smtp_timeout_seconds: float = Field(default=30, gt=0, description="Connect and command timeout of SMTP")
    smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle to verify the SMTP server's certificate (default: the system's)"
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0, description="Timeout of one webhook POST")
    dedup_capacity: int = Field(
        default=10_000,
        ge=1,
        description="How many alert keys per channel this process remembers to drop duplicates "
        "without asking the bucket of sent alerts (which remembers them all)",
    )
    event_ack_wait_seconds: float = Field(
        default=60, ge=1, description="How long an alert's message may go without an in-progress ack"
    )
    shutdown_grace_seconds: float = Field(
        default=10,
        ge=0,
        description="On SIGTERM, how long sends in progress may go on; then they stop and their alerts' "
        "messages are nacked (redelivered to the next notifier)",
    )
