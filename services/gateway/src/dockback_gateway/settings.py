"""Configuration of the gateway, read once from the environment (prefix DOCKBACK_)."""

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
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
