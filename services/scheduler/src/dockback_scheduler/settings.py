"""Configuration of the scheduler, read once from the environment (prefix DOCKBACK_)."""

from __future__ import annotations

from pydantic import Field, model_validator
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
    shard_count: int = Field(
        default=1,
        ge=1,
        le=64,
        description="How many scheduler processes share the plans (each fires the plans whose id "
        "modulo this count is its DOCKBACK_SHARD_INDEX). One process fires about 9,000 plans due in the "
        "same second within a second on one core; run more only for more plans than that.",
    )
    shard_index: int = Field(default=0, ge=0, description="This process's share, from 0 to DOCKBACK_SHARD_COUNT - 1.")

    @model_validator(mode="after")
    def _index_within_count(self) -> Settings:
        if self.shard_index >= self.shard_count:
            raise ValueError(
                f"DOCKBACK_SHARD_INDEX ({self.shard_index}) must be below DOCKBACK_SHARD_COUNT ({self.shard_count})"
            )
        return self
