"""Configuration of the uploader, read once from the environment (prefix DOCKBACK_).

Host id, data dir, NATS and the job retry settings use the executor's names, so one env
file serves the executor and the uploader that runs beside it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dockback_runtime.connection import NatsClientSettings
from dockback_runtime.jobs.settings import JobWorkerSettings


class Settings(BaseSettings, NatsClientSettings, JobWorkerSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_NATS_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    log_level: str = "INFO"
    allow_private_targets: bool = Field(
        default=False,
        description="Allow S3 endpoints on private, loopback and link-local addresses (a NAS on the LAN); "
        "by default a target must resolve to public addresses only",
    )
    host_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="The Docker host whose archives this uploader copies and prunes: the executor's "
        "DOCKBACK_HOST_ID (the uploader cannot derive it from the engine, so set it for both)",
    )
    data_dir: Path = Field(default=Path("/var/lib/dockback/backups"), description="The executor's data dir")
    settings_key_file: Path | None = Field(
        default=None,
        description="Development without NATS credentials only: the gateway's settings key file, from which "
        "this uploader's sealing key is derived. With DOCKBACK_NATS_CREDENTIALS_FILE the key derives from "
        "the credentials and this is not needed",
    )
    stale_upload_seconds: float = Field(
        default=86400,
        ge=0,
        description="Unfinished multipart uploads under this host's prefix older than this are aborted at the "
        "next upload (left by attempts whose server stayed down past the retry budget)",
    )
