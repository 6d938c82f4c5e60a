"""The catalog domain's background work (see `dockback_gateway.runtime`): scheduled verification.

Every `INTERVAL_SECONDS`, one gateway replica at a time (a Postgres advisory lock) looks at
each live, enabled plan with a `verify_cron`: when its newest verification slot is due, the
newest available artifact of each of the plan's series as of that slot gets a verify job. The job id is
uuid5(scheduled_job_id(plan, slot), artifact id), so a slot is handled once however many
replicas, ticks or restarts see it. Only the newest due slot counts (verifying the same
newest artifact again for every older slot would prove nothing new); slots are looked for at
most `LOOKBACK` back, and never before the plan existed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import events as ev
from dockback_contracts.schedule import fire_times
from dockback_contracts.streams import ConsumerSpec
from dockback_gateway.catalog import repository
from dockback_gateway.catalog.models import ArtifactFormat
from dockback_gateway.catalog.requests import request_verification
from dockback_gateway.jobs.models import Job
from dockback_gateway.plans.models import Plan
from dockback_gateway.runtime import Runtime

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30.0
LOOKBACK = timedelta(days=1)
_VERIFY_SCHEDULER_LOCK = 0x0D0CF7F
# Windows searched for the newest slot, smallest first: a per-second cron is found in the
# first one without enumerating a day of slots.
_WINDOWS = (timedelta(minutes=1), timedelta(hours=1), LOOKBACK)


def register(broker: NatsBroker, runtime: Runtime) -> list[ConsumerSpec]:
    """Subscribers to add before the broker starts (none: the catalog's facts come through the recorder)."""
    return []


async def run(runtime: Runtime) -> None:
    """Issue scheduled verifications until the gateway stops."""
    while True:
        try:
            await schedule_verifications(runtime.sessions, datetime.now(UTC))
        except Exception:
            log.warning("scheduled verification failed; retrying in %.0fs", INTERVAL_SECONDS, exc_info=True)
        await asyncio.sleep(INTERVAL_SECONDS)


def verify_job_id(plan_id: uuid.UUID, slot: datetime, artifact_id: uuid.UUID) -> uuid.UUID:
    """The id of the check of `artifact_id` at the plan's verification slot `slot`."""
    return uuid.uuid5(ev.scheduled_job_id(plan_id, slot), str(artifact_id))


def newest_slot(plan: Plan, now: datetime) -> datetime | None:
    """The plan's newest verification slot in (max(now - LOOKBACK, plan created), now], if any."""
    assert plan.verify_cron is not None
    earliest = max(now - LOOKBACK, plan.created_at)
    for window in _WINDOWS:
        slots = fire_times(plan.verify_cron, plan.timezone, max(now - window, earliest), now)
        if slots:
            return slots[-1]
    return None


async def schedule_verifications(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[uuid.UUID]:
    """One pass: the verify jobs due at `now` that did not exist yet (empty when another replica
    holds the lock)."""
    issued: list[uuid.UUID] = []
    async with sessions.begin() as db:
        got = await db.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _VERIFY_SCHEDULER_LOCK})
        if not got:
            return issued
        for plan in await repository.plans_to_verify(db):
            try:
                slot = newest_slot(plan, now)
            except ValueError as exc:  # a cron the plan API let through but croniter refuses now
                log.warning("plan %s: verification schedule %r unusable: %s", plan.id, plan.verify_cron, exc)
                continue
            if slot is None:
                continue
            artifacts = await repository.newest_per_scope(db, plan.id, slot)
            copies = await repository.copies_of(db, (a.id for a in artifacts))
            for artifact in artifacts:
                if artifact.format != ArtifactFormat.ARCHIVE:
                    continue  # a snapshot is checked with its repository (`restic check`), not alone
                job_id = verify_job_id(plan.id, slot, artifact.id)
                if await db.get(Job, job_id) is not None:
                    continue
                await request_verification(db, artifact, copies.get(artifact.id, []), job_id, scheduled_for=slot)
                issued.append(job_id)
    if issued:
        log.info("scheduled verification: %d verify job(s) issued", len(issued))
    return issued
