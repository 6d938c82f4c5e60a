"""Configuration of the gateway, read once from the environment (prefix DOCKBACK_) at the entry point."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_DATABASE_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    database_url: SecretStr = Field(description="SQLAlchemy URL, e.g. postgresql+asyncpg://user:pw@host/db")
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    nats_credentials_file: Path | None = Field(default=None, description="NATS .creds file for this service")
    stream_replicas: int = Field(default=1, ge=1, le=5, description="Copies of each stream (3 on a cluster)")
    base_url: str = Field(
        default="http://localhost:8080",
        description="Where users reach DockBack; its origin is the only one allowed to send state-changing "
        "requests, and an https URL makes cookies Secure and __Host- prefixed",
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs session tokens; default: secret_key_file")
    secret_key_file: Path = Field(
        default=Path("var/secrets/secret.key"), description="Created (0600) on first start when secret_key is not set"
    )
    encryption_key_file: Path = Field(
        default=Path("var/secrets/encryption.key"),
        description="AES-256 key for settings at rest; created (0600) on first start",
    )
    settings_key_file: Path = Field(
        default=Path("var/secrets/settings.key"),
        description="Key that seals secrets in the snapshots other services read",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
