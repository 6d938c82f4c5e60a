"""A user's cancellation, written as the gateway writes it: a `JobCancellation` in the bucket."""

from __future__ import annotations

import uuid

import nats

from dockback_contracts import streams
from dockback_contracts.base import utc_now
from dockback_contracts.snapshots import JobCancellation


async def cancel(nats_url: str, job_id: uuid.UUID, user: str = "alice") -> None:
    """What the gateway does when a user cancels a job."""
    client = await nats.connect(nats_url)
    try:
        bucket = await client.jetstream().key_value(streams.CANCELS_BUCKET)
        cancellation = JobCancellation(job_id=job_id, requested_by=user, requested_at=utc_now())
        await bucket.put(str(job_id), cancellation.model_dump_json().encode())
    finally:
        await client.close()
