"""The job settings every worker reads from the environment (DOCKBACK_ prefix): one set of names,
so one env file serves the executor and the uploader that runs beside it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from dockback_contracts.streams import ConsumerSpec, RetryPolicy


class JobWorkerSettings(BaseModel):
    """Mixed into a worker's `Settings(BaseSettings, ...)`."""

    job_ack_wait_seconds: float = Field(
        default=60,
        ge=1,
        description="How long a job may go without an in-progress ack before it is redelivered "
        "to another worker (a crashed worker's jobs resume after this)",
    )
    job_retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(RetryPolicy().delays),
        description="Delays between the attempts of a job that failed transiently (JSON list); after the "
        "last one the job fails with JobFailed(retryable=true). Default: 5 s, 30 s, 2 min, 10 min, 30 min",
    )
    shutdown_grace_seconds: float = Field(
        default=10,
        ge=0,
        description="On SIGTERM, how long running jobs may go on before they are cancelled and handed back "
        "(what they stopped is restarted, what they half wrote removed; the job is redone later)",
    )

    def job_consumer(self, spec: ConsumerSpec) -> ConsumerSpec:
        """`spec` with this worker's ack wait and retry delays."""
        return spec.with_ack_wait(self.job_ack_wait_seconds).with_retry(
            RetryPolicy(delays=tuple(self.job_retry_delays_seconds))
        )
