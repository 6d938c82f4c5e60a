"""Configuration of the scheduler, read once from the environment (prefix DOCKBACK_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dockback_runtime.connection import NatsClientSettings


class Settings(BaseSettings, NatsClientSettings):
    """Environment variables: DOCKBACK_<FIELD>, e.g. DOCKBACK_NATS_URL."""

    model_config = SettingsConfigDict(env_prefix="DOCKBACK_", extra="ignore")

    log_level: str = "INFO"
    publish_concurrency: int = Field(
        default=256,
        ge=1,
        le=2_048,
        description="How many plans are published at once when many are due together, in batches of "
        "up to 128 whose acks are awaited together: enough to keep the server busy, few enough that "
        "one slow publish holds up few plans. nats-py keeps at most 4,000 publishes waiting for their "
        "acks (the watermark writes take up to 1,024 of them); beyond that publishing stalls.",
    )
    missed_count_limit: int = Field(
        default=10_000,
        ge=1,
        description="How many missed slots of one plan are counted exactly after a downtime; beyond "
        "it the RunMissed says 'at least' (counting costs ~35 µs a slot).",
    )
