"""Configuration of the uploader, read once from the environment (prefix DOCKBACK_).

Host id, data dir, NATS and the job retry settings use the executor's names, so one env
file serves the executor and the uploader that runs beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dockback_contracts.streams import RetryPolicy
from dockback_runtime.connection import NatsClientSettings


class Settings(BaseSettings, NatsClientSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_NATS_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    log_level: str = "INFO"
    host_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="The Docker host whose archives this uploader copies and prunes: the executor's "
        "DOCKBACK_HOST_ID (the uploader cannot derive it from the engine, so set it for both)",
    )
    data_dir: Path = Field(default=Path("/var/lib/dockback/backups"), description="The executor's data dir")
    settings_key_file: Path = Field(description="File with the 32-byte settings key (hex or base64)")
    job_ack_wait_seconds: float = Field(
        default=60, ge=1, description="How long a job may go without an in-progress ack before it is redelivered"
    )
    shutdown_grace_seconds: float = Field(
        default=10,
        ge=0,
        description="On SIGTERM, how long running jobs may go on before they are cancelled and handed back "
        "(a nack: the next uploader redoes them; a cancelled upload leaves no multipart upload behind)",
    )
    stale_upload_seconds: float = Field(
        default=86400,
        ge=0,
        description="Unfinished multipart uploads under this host's prefix older than this are aborted at the "
        "next upload (left by attempts whose server stayed down past the retry budget)",
    )
    job_retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(RetryPolicy().delays),
        description="Delays between the attempts of a job that failed transiently (JSON list); after the "
        "last one the job fails with JobFailed(retryable=true)",
    )
