"""Configuration of the executor, read once from the environment (prefix DOCKBACK_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_NATS_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    nats_credentials_file: Path | None = Field(default=None, description="NATS .creds file for this service")
    log_level: str = "INFO"
    host_id: str | None = Field(
        default=None, description="Stable id of this Docker host; default: derived from the engine's ID"
    )
    data_dir: Path = Field(
        default=Path("/var/lib/dockback/backups"), description="Where archives and manifests are kept"
    )
