"""Configuration of the gateway, read once from the environment (prefix DOCKBACK_) at the entry point."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dockback_runtime.connection import NatsClientSettings


class Settings(BaseSettings, NatsClientSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_DATABASE_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    # An alias replaces the prefixed name, so the prefixed one is listed again, first: it wins when both are set.
    # DATABASE_URL is what hosting platforms and most Postgres tooling set.
    database_url: SecretStr = Field(
        validation_alias=AliasChoices("DOCKBACK_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL, e.g. postgresql+asyncpg://user:pw@host/db (DATABASE_URL is read too)",
    )
    stream_replicas: int = Field(default=1, ge=1, le=5, description="Copies of each stream (3 on a cluster)")
    base_url: str = Field(
        default="http://localhost:8080",
        description="Where users reach DockBack; its origin is the only one allowed to send state-changing "
        "requests, and an https URL makes cookies Secure and __Host- prefixed",
    )
    allowed_hosts: str = Field(
        default="",
        description="Host names the API answers to besides DOCKBACK_BASE_URL's and localhost, comma-separated "
        "(e.g. the name a reverse proxy or another container uses); any other Host gets 421 (DNS rebinding)",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="The largest request body the API reads; a larger one is refused with 413 before it is parsed",
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
        description="Created (0600) on first start for services that run without NATS credentials "
        "(development): they derive their sealing keys from it. With credentials each uploader and the "
        "notifier has its own key, derived from its credentials",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxies in front of the gateway "
        "(e.g. 10.0.0.2,172.18.0.0/16); only their X-Forwarded-For is read, right to left, for the client "
        "address the login brake counts. Empty: the peer's address, X-Forwarded-For ignored",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    web_port: int | None = Field(
        default=None, ge=1, le=65535, description="Serve the web UI (and the API under /api) on this port too"
    )
    web_dir: Path | None = Field(default=None, description="The built web UI; default: services/web/dist")
    log_level: str = "INFO"

    # -- jobs: live progress and the reconciler -----------------------------------------------
    progress_write_seconds: float = Field(
        default=2.0, gt=0, description="How often a running job's progress (bytes, phase) is written to its row"
    )
    job_events_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Interval of the keep-alive comment on GET /jobs/events"
    )
    reconcile_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the reconciler looks for stuck jobs and missed runs"
    )
    queued_job_deadline_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A queued job on an online host that has not started after this long is published again",
    )
    offline_host_deadline_seconds: float = Field(
        default=1800.0,
        gt=0,
        description="A queued job fails when its host has been offline (and the job waiting) this long",
    )
    running_job_deadline_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A running job that its host no longer lists and that sent no event for this long is "
        "published again (or fails once republish_limit is spent)",
    )
    republish_limit: int = Field(
        default=3, ge=0, le=100, description="How many times the reconciler publishes a job's request again"
    )
    missed_run_margin_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Slack after a plan's grace period before a slot without a job counts as a missed run "
        "(the job's first event may still be on its way)",
    )
    missed_run_lookback_seconds: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How far back the reconciler looks for plan slots without a job"
    )
    missed_run_scan_limit: int = Field(
        default=10_000,
        ge=10,
        description="Plan slots checked per plan and reconciler pass (a per-second plan has 600,000 a week); "
        "a longer window is finished in the following passes",
    )
    missed_run_pass_budget: int = Field(
        default=100_000,
        ge=10,
        description="Plan slots checked per reconciler pass over all plans (about 3 s of CPU); the plans "
        "checked longest ago go first, the others wait for the next pass",
    )

    def allowed_host_names(self) -> list[str]:
        """DOCKBACK_ALLOWED_HOSTS as a list."""
        return [name.strip() for name in self.allowed_hosts.split(",") if name.strip()]
