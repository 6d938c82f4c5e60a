"""The reconciler on the real gateway (deadlines of a second): stuck jobs are published again
or failed with a JobFailed on the bus, and plan slots without a job become one RunMissed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.msg import Msg
from sqlalchemy import func, select

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.schedule import fire_times
from dockback_contracts.streams import EVENTS_STREAM, JOBS_STREAM
from dockback_gateway.config import Settings
from dockback_gateway.jobs.models import Job, JobLogEntry, MissedRun
from dockback_gateway.jobs.worker import state_of
from dockback_gateway.plans.models import Plan
from gateway.conftest import Gateway
from gateway.job_facts import HOST, add_host, add_plan, job_in, job_of, publish, queued, recorder_idle, started
from harness.eventually import eventually


@pytest.fixture
def gateway_settings(gateway_settings: Settings) -> Settings:
    return gateway_settings.model_copy(
        update={
            "reconcile_interval_seconds": 0.2,
            "queued_job_deadline_seconds": 1.0,
            "offline_host_deadline_seconds": 1.0,
            "running_job_deadline_seconds": 1.0,
            "republish_limit": 2,
            "missed_run_margin_seconds": 0.0,
            "missed_run_scan_limit": 30,
        }
    )


HOUR_AGO = timedelta(hours=1)


async def messages_on(gateway: Gateway, stream: str, subject: str) -> list[bytes]:
    """Every message stored on `subject` (as raw bodies), oldest first."""
    js = gateway.app.state.broker.connection.jetstream()
    info = await js.stream_info(stream, subjects_filter=subject)
    count = (info.state.subjects or {}).get(subject, 0)
    if not count:
        return []
    bodies = []
    seq = info.state.first_seq
    while len(bodies) < count and seq <= info.state.last_seq:
        try:
            message = await js.get_msg(stream, seq)
        except Exception:  # a deleted sequence
            seq += 1
            continue
        if message.subject == subject:
            bodies.append(message.data or b"")
        seq += 1
    return bodies


@asynccontextmanager
async def next_message_on(gateway: Gateway, subject: str) -> AsyncIterator[asyncio.Future[Msg]]:
    """The next message published on `subject` from now on, as a future to await (subscribed
    before the caller acts, so the message cannot pass unseen)."""
    arrived: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()

    async def take(message: Msg) -> None:
        if not arrived.done():
            arrived.set_result(message)

    subscription = await gateway.app.state.broker.connection.subscribe(subject, cb=take)
    try:
        yield arrived
    finally:
        await subscription.unsubscribe()


async def passes_after(gateway: Gateway, more: int) -> None:
    reconciler = state_of(gateway.app.state.runtime).reconciler
    target = reconciler.passes + more
    await eventually(lambda: reconciler.passes >= target)


async def test_a_queued_job_on_an_offline_host_fails_with_a_job_failed_on_the_bus(gateway: Gateway) -> None:
    await add_host(gateway, online=False)
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id, occurred_at=datetime.now(UTC) - HOUR_AGO))
    job = await eventually(lambda: job_in(gateway, job_id, "failed"))
    assert job.error is not None
    assert job.error.startswith(f"host {HOST} is offline (last heartbeat ")
    assert job.error.endswith("the job never started")
    assert job.retryable is True

    bodies = await eventually(lambda: messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.JobFailed, HOST)))
    assert len(bodies) == 1
    failure = ev.JobFailed.model_validate_json(bodies[0])
    assert (failure.job_id, failure.reason, failure.phase) == (job_id, job.error, "queued")

    # The JobFailed comes back through the recorder: one log line for it, not two.
    await eventually(lambda: recorder_idle(gateway))
    async with gateway.app.state.sessions() as db:
        lines = await db.scalar(
            select(func.count()).where(JobLogEntry.job_id == job_id, JobLogEntry.type == "job_failed.v1")
        )
    assert lines == 1


async def test_a_queued_job_its_online_host_never_starts_is_published_again_then_failed(gateway: Gateway) -> None:
    await add_host(gateway, online=True)
    job_id = uuid.uuid4()
    async with next_message_on(gateway, subjects.fact(ev.JobFailed, HOST)) as failure:
        await publish(gateway, queued(job_id, occurred_at=datetime.now(UTC) - HOUR_AGO))
        # The JobFailed leaves through the outbox after the pass that failed the job committed:
        # once it is on the bus, the row is failed and every earlier publish is stored.
        published = ev.JobFailed.model_validate_json((await failure).data)
    assert (published.job_id, published.phase) == (job_id, "queued")
    job = await job_of(gateway, job_id)
    assert job is not None
    assert (job.status, job.republished) == ("failed", 2)
    assert job.error is not None
    assert "did not start the job" in job.error
    assert published.reason == job.error

    js = gateway.app.state.broker.connection.jetstream()
    requests = await messages_on(gateway, JOBS_STREAM, subjects.request(ev.BackupRequested, HOST))
    assert [ev.BackupRequested.model_validate_json(b).job_id for b in requests] == [job_id, job_id]
    last = await js.get_last_msg(JOBS_STREAM, subjects.request(ev.BackupRequested, HOST))
    assert last.headers is not None
    assert last.headers["Nats-Msg-Id"] != str(job_id), "a new message id: the first one is remembered"
    assert len(await messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.JobFailed, HOST))) == 1


async def test_a_running_job_its_host_stopped_listing_is_republished_then_failed(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await add_host(gateway, online=True, running=())
    long_ago = datetime.now(UTC) - HOUR_AGO
    await publish(gateway, queued(job_id, occurred_at=long_ago))
    await publish(gateway, started(job_id, occurred_at=long_ago))
    await eventually(lambda: _republished(gateway, job_id, 1))
    requests = await eventually(lambda: messages_on(gateway, JOBS_STREAM, subjects.request(ev.BackupRequested, HOST)))
    assert ev.BackupRequested.model_validate_json(requests[0]).job_id == job_id

    job = await eventually(lambda: job_in(gateway, job_id, "failed"), timeout=15)
    assert job.republished == 2
    assert job.error is not None
    assert job.error.startswith(f"host {HOST} stopped reporting on the job since ")
    failures = await eventually(lambda: messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.JobFailed, HOST)))
    assert ev.JobFailed.model_validate_json(failures[0]).job_id == job_id
    async with gateway.app.state.sessions() as db:
        messages = (
            await db.scalars(select(JobLogEntry.message).where(JobLogEntry.job_id == job_id).order_by(JobLogEntry.id))
        ).all()
    assert sum("request published again" in m for m in messages) == 2


async def _republished(gateway: Gateway, job_id: uuid.UUID, times: int) -> Job | None:
    job = await job_of(gateway, job_id)
    return job if job is not None and job.republished >= times else None


async def test_a_running_job_its_host_lists_stays_running(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    long_ago = datetime.now(UTC) - HOUR_AGO
    await publish(gateway, queued(job_id, occurred_at=long_ago))
    await publish(gateway, started(job_id, occurred_at=long_ago))
    for _ in range(5):  # heartbeats listing the job keep coming
        await add_host(gateway, online=True, running=(str(job_id),))
        await passes_after(gateway, 1)
    job = await job_of(gateway, job_id)
    assert job is not None
    assert (job.status, job.republished) == ("running", 0)


async def test_plan_slots_without_a_job_are_reported_as_one_missed_run(gateway: Gateway) -> None:
    # The reconciler's clock stands still: a slot falling due while the test runs (it ran at
    # 00:19:59 once) would rightly be a second RunMissed.
    now = datetime.now(UTC)
    state_of(gateway.app.state.runtime).reconciler.clock = lambda: now
    plan_id = uuid.uuid4()
    slots = fire_times("*/10 * * * *", "UTC", now - HOUR_AGO, now)
    # One slot did run: its job exists before the plan does, so no pass can miss it.
    async with gateway.app.state.sessions.begin() as db:
        db.add(Job(id=ev.scheduled_job_id(plan_id, slots[0]), kind="backup", host_id=HOST, plan_id=plan_id))
    await add_plan(gateway, id=plan_id, cron="*/10 * * * *", updated_at=now - HOUR_AGO, missed_run_grace_seconds=0.0)
    bodies = await eventually(lambda: messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.RunMissed, HOST)))
    missed = ev.RunMissed.model_validate_json(bodies[0])
    assert missed.plan_id == plan_id
    assert missed.scheduled_for == slots[1]
    assert missed.missed_slots == len(slots) - 1
    assert missed.last_scheduled_for == (slots[-1] if len(slots) > 2 else None)

    await passes_after(gateway, 3)
    assert len(await messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.RunMissed, HOST))) == 1
    async with gateway.app.state.sessions() as db:
        rows = (await db.scalars(select(MissedRun).where(MissedRun.plan_id == plan_id))).all()
    assert [(r.scheduled_for, r.missed_slots) for r in rows] == [(slots[1], len(slots) - 1)]


async def test_a_pass_computes_only_the_slots_in_its_window_so_its_budget_reaches_every_plan(
    gateway: Gateway,
) -> None:
    """Five plans, each with six slots in its window, and a pass budget of 40 slots: computing
    only the window's slots, one pass checks them all (it used to compute a plan's 30-slot scan
    limit whatever the window, and the budget reached two plans a pass)."""
    now = datetime.now(UTC)
    reconciler = state_of(gateway.app.state.runtime).reconciler
    reconciler.clock = lambda: now
    reconciler.missed_runs.deadlines = replace(reconciler.deadlines, missed_pass_budget=40)
    async with gateway.app.state.sessions.begin() as db:  # one transaction: one pass sees all five
        plans = [
            Plan(
                name=f"plan-{n}",
                host_id=HOST,
                cron="*/10 * * * *",
                timezone="UTC",
                targets=[{"kind": "volume", "names": ["pgdata"]}],
                options={},
                upload_targets=[],
                retention={},
                updated_at=now - HOUR_AGO,
                missed_run_grace_seconds=0.0,
            )
            for n in range(5)
        ]
        db.add_all(plans)
    subject = subjects.fact(ev.RunMissed, HOST)
    await eventually(lambda: _at_least(5, messages_on(gateway, EVENTS_STREAM, subject)))
    async with gateway.app.state.sessions() as db:
        rows = (await db.scalars(select(MissedRun).where(MissedRun.plan_id.in_([p.id for p in plans])))).all()
    assert sorted(row.missed_slots for row in rows) == [6] * 5
    assert len({row.reported_at for row in rows}) == 1, "reported in one pass (one transaction's now())"


async def _at_least(count: int, found: Awaitable[list[bytes]]) -> list[bytes] | None:
    bodies = await found
    return bodies if len(bodies) >= count else None


async def test_a_long_gap_of_a_per_second_plan_is_checked_in_bounded_steps_and_reported_once(
    gateway: Gateway,
) -> None:
    frozen = datetime.now(UTC).replace(microsecond=0)
    reconciler = state_of(gateway.app.state.runtime).reconciler
    reconciler.clock = lambda: frozen
    plan = await add_plan(
        gateway, cron="* * * * * *", updated_at=frozen - timedelta(seconds=100), missed_run_grace_seconds=0.0
    )
    bodies = await eventually(lambda: messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.RunMissed, HOST)))
    missed = ev.RunMissed.model_validate_json(bodies[0])
    assert missed.plan_id == plan.id
    assert missed.missed_slots == 100, "30 slots a pass, one report when the window is done"
    assert missed.scheduled_for == frozen - timedelta(seconds=99)
    assert missed.last_scheduled_for == frozen
    await passes_after(gateway, 3)
    assert len(await messages_on(gateway, EVENTS_STREAM, subjects.fact(ev.RunMissed, HOST))) == 1
