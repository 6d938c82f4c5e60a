"""Configuration of the executor, read once from the environment (prefix DOCKBACK_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dockback_runtime.connection import NatsClientSettings
from dockback_runtime.jobs.settings import JobWorkerSettings


class Settings(BaseSettings, NatsClientSettings, JobWorkerSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_DATA_DIR."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    log_level: str = "INFO"
    host_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="Stable id of this Docker host; default: derived from the engine's ID",
    )
    docker_url: str | None = Field(default=None, description="Docker Engine URL; default: DOCKER_HOST or the socket")
    data_dir: Path = Field(default=Path("/var/lib/dockback/backups"), description="Where archives are kept")
    settings_key_file: Path | None = Field(
        default=None,
        description="Development without NATS credentials only: the gateway's settings key file, from which "
        "this executor's sealing key (which opens its repositories' passwords) is derived. With "
        "DOCKBACK_NATS_CREDENTIALS_FILE the key derives from the credentials and this is not needed",
    )
    strategy: Literal["stream", "runner", "auto"] = Field(
        default="auto",
        description="stream: read the volume through the engine's archive API (any engine); runner: start a "
        "container with GNU tar and zstd that archives the volume into the data dir in one pass (a local engine; "
        "the image is made from the executor's own tools unless runner_image is given); auto: runner where it "
        "can work here, else stream (the log says why)",
    )
    runner_image: str | None = Field(
        default=None,
        description="Image for the runner strategy instead of the one the executor makes (GNU tar, zstd, gzip, sh)",
    )
    data_dir_source: Path | None = Field(
        default=None,
        description="The data dir's path on the Docker host, for runners, when the executor runs in a container "
        "whose data dir is not a volume or bind mount it can find by inspecting itself",
    )
    max_concurrent_jobs: int = Field(default=2, ge=1, le=64)
    repository_prune_interval_seconds: float = Field(
        default=7 * 86400,
        ge=0,
        description="How often a repository's data no snapshot refers to any more is removed (`restic prune`, "
        "which locks the repository): at the first forgetting of snapshots by retention once this long has "
        "passed since its last prune",
    )
    stop_timeout_seconds: int = Field(default=30, ge=0, description="Grace period when stopping containers")
    allowed_bind_roots: list[Path] = Field(
        default_factory=list, description="Host paths under which bind mounts may be backed up (JSON list)"
    )
    inventory_interval_seconds: float = Field(default=300, gt=0)
    heartbeat_interval_seconds: float = Field(default=15, gt=0)
    restore_max_entries: int = Field(default=10_000_000, ge=1)
    restore_max_bytes: int = Field(default=16 * 2**40, ge=1)
