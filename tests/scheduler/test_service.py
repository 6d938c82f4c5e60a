"""The scheduler service on a real nats-server: plans in KV fire as jobs, once per slot.

Plans fire every second (croniter's six-field form), so a test waits seconds; every wait
is for an event, with `WAIT` as the upper bound. Tests that need a past ("the scheduler
was down since 11:31") write the watermark and run the scheduler on a frozen clock.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.events import (
    BackupRequested,
    JobQueued,
    JobsQueued,
    RunMissed,
    queued_event_id,
    scheduled_job_id,
)
from dockback_contracts.snapshots import PlanSnapshot
from dockback_scheduler import service
from dockback_scheduler.plans import Shard

from .conftest import (
    Listener,
    RestartableNats,
    make_plan,
    put_plan,
    revise,
    running_scheduler,
    stored,
)

ONE_SECOND = timedelta(seconds=1)


def job_ids_of(event: ev.Event) -> set[uuid.UUID]:
    """The jobs an event is about: a JobsQueued's items, or the event's own job."""
    if isinstance(event, JobsQueued):
        return {item.job_id for item in event.jobs}
    return {event.job_id} if event.job_id is not None else set()


def queued_items(listener: Listener) -> list[JobQueued]:
    return [item for announced in listener.of(JobsQueued) for item in announced.jobs]


def next_whole_second(t: datetime) -> datetime:
    return t.replace(microsecond=0) + ONE_SECOND


async def test_a_plan_put_in_kv_fires_a_backup_with_its_ids_targets_and_options(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plan = make_plan(
        targets=(
            ev.TargetSelector(kind="volume", names=("pgdata", "uploads")),
            ev.TargetSelector(kind="container", label_selector={"app": "db"}),
        ),
        options=ev.BackupOptions(compression="gzip", stop_containers=True, include_image=True),
        upload_targets=("s3-main",),
    )
    async with running_scheduler(nats_box.url):
        await put_plan(plans_kv, plan)
        [request] = await listener.wait_for(BackupRequested)

    assert request.job_id == scheduled_job_id(plan.plan_id, request.scheduled_for)
    assert (request.host_id, request.plan_id) == (plan.host_id, plan.plan_id)
    assert request.targets == plan.targets
    assert request.options == plan.options
    assert request.upload_targets == ("s3-main",)
    assert request.scheduled_for > plan.updated_at
    queued = [item for item in queued_items(listener) if item.job_id == request.job_id]
    assert len(queued) == 1
    assert queued[0].request == request
    assert (queued[0].kind, queued[0].host_id, queued[0].plan_id, queued[0].scheduled_for) == (
        "backup",
        plan.host_id,
        plan.plan_id,
        request.scheduled_for,
    )
    assert queued[0].event_id == queued_event_id(request.job_id)  # the same from every replica
    # JobsQueued first, so the gateway knows the job before a host can start it; both carry their keys.
    order = [h for h in listener.heard if request.job_id in job_ids_of(h.event)]
    assert [type(h.event) for h in order] == [JobsQueued, BackupRequested]
    assert order[0].subject == f"dockback.events.{plan.host_id}.jobs_queued"
    assert order[0].msg_id == subjects.message_id(order[0].event)
    assert order[1].msg_id == str(request.job_id)
    assert order[1].subject == f"dockback.jobs.{plan.host_id}.backup"
    in_jobs = await stored(js, streams.JOBS_STREAM)
    assert (request, str(request.job_id)) in in_jobs


async def test_a_plan_fires_on_the_real_clock_within_a_second_of_its_slot(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener
) -> None:
    plan = make_plan()
    await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, count=3)
    late = [h.at - h.event.scheduled_for for h in listener.heard_of(BackupRequested)]  # type: ignore[attr-defined]
    assert all(timedelta(0) <= lag < ONE_SECOND for lag in late), late


async def test_two_schedulers_at_once_store_one_job_per_slot(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plan = make_plan()
    await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url), running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, count=8)

    heard = Counter(r.job_id for r in listener.of(BackupRequested))
    assert max(heard.values()) == 2, "both schedulers published the same slots"
    jobs = [e for e, _ in await stored(js, streams.JOBS_STREAM)]
    assert len(jobs) == len({j.job_id for j in jobs}) == len(heard)
    # Each replica announces its own batches; the items' event ids are what the gateway dedups on.
    queued = [item for e, _ in await stored(js, streams.EVENTS_STREAM) if isinstance(e, JobsQueued) for item in e.jobs]
    assert {q.job_id for q in queued} == {j.job_id for j in jobs}
    assert all(q.event_id == queued_event_id(q.job_id) for q in queued)


async def test_two_shards_each_fire_their_own_plans_and_together_every_plan_once_a_slot(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plans = await put_burst(plans_kv, 40)
    async with (
        running_scheduler(nats_box.url, shard=Shard(0, 2)) as first,
        running_scheduler(nats_box.url, shard=Shard(1, 2)) as second,
    ):
        assert first.plan_count + second.plan_count == len(plans)
        assert 0 < first.plan_count < len(plans)
        await listener.wait_for(BackupRequested, count=3 * len(plans))

    heard = Counter(r.job_id for r in listener.of(BackupRequested))
    assert max(heard.values()) == 1, "a slot was published by both shards"
    by_plan = Counter(r.plan_id for r in listener.of(BackupRequested))
    assert set(by_plan) == {p.plan_id for p in plans}
    jobs = [e for e, _ in await stored(js, streams.JOBS_STREAM)]
    queued = [item for e, _ in await stored(js, streams.EVENTS_STREAM) if isinstance(e, JobsQueued) for item in e.jobs]
    assert {q.job_id for q in queued} >= {j.job_id for j in jobs}  # every job announced, by its own shard


async def test_an_edited_cron_fires_from_the_next_slot(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener
) -> None:
    plan = make_plan(cron="0 0 1 1 *")  # once a year
    await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url):
        edited = revise(plan, cron="* * * * * *")
        await put_plan(plans_kv, edited)
        [request] = await listener.wait_for(BackupRequested)
        arrived = listener.heard_of(BackupRequested)[0].at

    assert request.scheduled_for == next_whole_second(edited.updated_at), "the first slot after the edit fires"
    assert arrived - request.scheduled_for < ONE_SECOND


@pytest.mark.parametrize("how", ["disable", "delete", "purge"])
async def test_a_disabled_or_deleted_plan_stops_firing_within_a_second(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener, how: str
) -> None:
    plan, marker = make_plan(), make_plan(name="marker")
    await put_plan(plans_kv, plan)
    await put_plan(plans_kv, marker)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, lambda e: e.plan_id == plan.plan_id)
        changed_at = datetime.now(UTC)
        if how == "disable":
            await put_plan(plans_kv, revise(plan, enabled=False))
        elif how == "delete":
            await plans_kv.delete(str(plan.plan_id))
        else:
            await plans_kv.purge(str(plan.plan_id))
        # The marker keeps firing: three of its slots after the change bound the wait.
        await listener.wait_for(
            BackupRequested, lambda e: e.plan_id == marker.plan_id and e.scheduled_for > changed_at + 2 * ONE_SECOND
        )
    after_change = listener.of(
        BackupRequested, lambda e: e.plan_id == plan.plan_id and e.scheduled_for > changed_at + ONE_SECOND
    )
    assert after_change == []


async def test_an_older_revision_arriving_late_is_ignored(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener
) -> None:
    newer = make_plan(revision=5, cron="0 0 1 1 *")
    stale = newer.model_copy(update={"revision": 4, "cron": "* * * * * *"})
    marker = make_plan(name="marker")
    await put_plan(plans_kv, newer)
    await put_plan(plans_kv, marker)
    async with running_scheduler(nats_box.url):
        await put_plan(plans_kv, stale)
        await listener.wait_for(BackupRequested, lambda e: e.plan_id == marker.plan_id, count=3)
    assert listener.of(BackupRequested, lambda e: e.plan_id == newer.plan_id) == []


async def test_an_older_revision_that_is_the_current_value_at_start_is_ignored(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener
) -> None:
    """The newest revision is in the key's history, a late relay wrote an older one over it."""
    newer = make_plan(revision=5, cron="0 0 1 1 *")
    stale = newer.model_copy(update={"revision": 4, "cron": "* * * * * *"})
    marker = make_plan(name="marker")
    await put_plan(plans_kv, newer)
    await put_plan(plans_kv, stale)
    await put_plan(plans_kv, marker)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, lambda e: e.plan_id == marker.plan_id, count=3)
    assert listener.of(BackupRequested, lambda e: e.plan_id == newer.plan_id) == []


# -- after a downtime (frozen clock) -----------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 5, 30, tzinfo=UTC)
EVERY_TEN_MINUTES = "*/10 * * * *"  # 11:40, 11:50, 12:00 before NOW


async def restart_after_downtime(
    nats_box: RestartableNats,
    plans_kv: KeyValue,
    watermarks_kv: KeyValue,
    listener: Listener,
    *,
    since: datetime,
    grace: float,
) -> PlanSnapshot:
    """Start a scheduler at NOW for a plan last handled at ``since``; stop it once the plan fired.

    Stopping waits for the plan's task, which reports missed slots right after the fire.
    """
    plan = make_plan(
        cron=EVERY_TEN_MINUTES, timezone="UTC", missed_run_grace_seconds=grace, updated_at=NOW - timedelta(days=1)
    )
    await put_plan(plans_kv, plan)
    await watermarks_kv.put(str(plan.plan_id), since.isoformat().encode())
    async with running_scheduler(nats_box.url, now=lambda: NOW):
        await listener.wait_for(BackupRequested)
    return plan


async def events_of(js: JetStreamContext) -> tuple[list[BackupRequested], list[RunMissed]]:
    jobs = [e for e, _ in await stored(js, streams.JOBS_STREAM) if isinstance(e, BackupRequested)]
    missed = [e for e, _ in await stored(js, streams.EVENTS_STREAM) if isinstance(e, RunMissed)]
    return jobs, missed


async def test_a_slot_missed_within_the_grace_fires_once_after_a_restart(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, watermarks_kv: KeyValue, listener: Listener
) -> None:
    plan = await restart_after_downtime(
        nats_box, plans_kv, watermarks_kv, listener, since=datetime(2026, 6, 1, 11, 55, tzinfo=UTC), grace=600
    )
    jobs, missed = await events_of(js)
    slot = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert [(j.scheduled_for, j.job_id) for j in jobs] == [(slot, scheduled_job_id(plan.plan_id, slot))]
    assert missed == []
    assert (await watermarks_kv.get(str(plan.plan_id))).value == slot.isoformat().encode()


async def test_slots_older_than_the_grace_are_reported_as_one_run_missed(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, watermarks_kv: KeyValue, listener: Listener
) -> None:
    await restart_after_downtime(
        nats_box, plans_kv, watermarks_kv, listener, since=datetime(2026, 6, 1, 11, 31, tzinfo=UTC), grace=600
    )
    jobs, missed = await events_of(js)
    assert [j.scheduled_for for j in jobs] == [datetime(2026, 6, 1, 12, 0, tzinfo=UTC)]
    [report] = missed
    assert (report.scheduled_for, report.last_scheduled_for, report.missed_slots) == (
        datetime(2026, 6, 1, 11, 40, tzinfo=UTC),
        datetime(2026, 6, 1, 11, 50, tzinfo=UTC),
        2,
    )
    assert report.plan_name == "every-second"
    assert report.reason.startswith("2 slot(s) passed while the scheduler was not running")


async def test_of_several_slots_within_the_grace_only_the_newest_fires_and_the_others_are_reported(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, watermarks_kv: KeyValue, listener: Listener
) -> None:
    await restart_after_downtime(
        nats_box, plans_kv, watermarks_kv, listener, since=datetime(2026, 6, 1, 11, 31, tzinfo=UTC), grace=3600
    )
    jobs, missed = await events_of(js)
    assert [j.scheduled_for for j in jobs] == [datetime(2026, 6, 1, 12, 0, tzinfo=UTC)]
    [report] = missed
    assert (report.scheduled_for, report.missed_slots) == (datetime(2026, 6, 1, 11, 40, tzinfo=UTC), 2)
    assert "only the newest slot within the grace period ran (2026-06-01T12:00:00+00:00)" in report.reason


async def test_without_a_watermark_a_plan_does_not_fire_slots_from_before_it_existed(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    created = datetime(2026, 6, 1, 11, 55, tzinfo=UTC)
    plan = make_plan(cron=EVERY_TEN_MINUTES, timezone="UTC", updated_at=created, missed_run_grace_seconds=3600)
    await put_plan(plans_kv, plan)  # 11:50 is within the grace but before the plan existed
    async with running_scheduler(nats_box.url, now=lambda: NOW):
        await listener.wait_for(BackupRequested)
    jobs, missed = await events_of(js)
    assert [j.scheduled_for for j in jobs] == [datetime(2026, 6, 1, 12, 0, tzinfo=UTC)]
    assert missed == []


async def test_a_year_of_missed_per_second_slots_is_reported_without_stalling_the_other_plans(
    nats_box: RestartableNats, plans_kv: KeyValue, watermarks_kv: KeyValue, listener: Listener
) -> None:
    """31M slots: the first and the last missed slot are exact, the count stops at the limit."""
    down_since = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    plan = make_plan(missed_run_grace_seconds=5, updated_at=down_since - timedelta(days=1))
    marker = make_plan(name="marker")
    await put_plan(plans_kv, plan)
    await put_plan(plans_kv, marker)
    await watermarks_kv.put(str(plan.plan_id), down_since.isoformat().encode())
    started = time.monotonic()
    async with running_scheduler(nats_box.url, missed_count_limit=1000):
        [report] = await listener.wait_for(RunMissed, within=10)
        reported_after = time.monotonic() - started
        [fired] = await listener.wait_for(BackupRequested, lambda e: e.plan_id == plan.plan_id)
        await listener.wait_for(BackupRequested, lambda e: e.plan_id == marker.plan_id, count=2)
    assert reported_after < 5
    assert report.scheduled_for == down_since + ONE_SECOND
    assert report.last_scheduled_for == fired.scheduled_for - ONE_SECOND
    assert report.missed_slots == 1000
    assert "at least 1000" in report.reason
    lags = [
        h.at - h.event.scheduled_for for h in listener.heard_of(BackupRequested) if h.event.plan_id == marker.plan_id
    ]  # type: ignore[attr-defined]
    assert all(lag < ONE_SECOND for lag in lags), lags


# -- restarts and outages (real clock) ---------------------------------------------------


def uncovered_slots(jobs: list[BackupRequested], missed: list[RunMissed]) -> list[datetime]:
    """Every per-second slot between the first and the last job that has neither a job nor a report."""
    fired = {j.scheduled_for for j in jobs}
    slot, last = min(fired), max(fired)
    holes = []
    while slot < last:
        slot += ONE_SECOND
        reported = any(m.scheduled_for <= slot <= (m.last_scheduled_for or m.scheduled_for) for m in missed)
        if slot not in fired and not reported:
            holes.append(slot)
    return holes


async def test_a_restarted_scheduler_resumes_from_its_watermark_without_losing_or_doubling_a_slot(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plan = make_plan()
    await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, count=2)
    stopped_at = datetime.now(UTC)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, lambda e: e.scheduled_for > stopped_at, count=2)
    jobs, missed = await events_of(js)
    assert len(jobs) == len({j.job_id for j in jobs})
    assert uncovered_slots(jobs, missed) == []


# -- bursts: many plans due in the same second ------------------------------------------

BURST_HOSTS = ("host-a", "host-b", "host-c")


async def put_burst(plans_kv: KeyValue, count: int) -> list[PlanSnapshot]:
    plans = [make_plan(host_id=BURST_HOSTS[i % len(BURST_HOSTS)], name=f"burst-{i}") for i in range(count)]
    for plan in plans:
        await put_plan(plans_kv, plan)
    return plans


async def test_in_a_burst_the_gateway_hears_of_every_job_before_its_request_in_one_message_per_host_and_batch(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plans = await put_burst(plans_kv, 300)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, count=2 * len(plans))

    announced_at: dict[uuid.UUID, int] = {}
    for index, heard in enumerate(listener.heard):
        if isinstance(heard.event, JobsQueued):
            assert heard.subject == f"dockback.events.{heard.event.host_id}.jobs_queued"
            assert {item.host_id for item in heard.event.jobs} == {heard.event.host_id}
            for item in heard.event.jobs:
                announced_at.setdefault(item.job_id, index)
        elif isinstance(heard.event, BackupRequested):
            # The scheduler sends a request only once the stream acked the JobsQueued announcing it.
            assert announced_at.get(heard.event.job_id, index) < index, heard.event.job_id
    requests = listener.of(BackupRequested)
    # Per host and batch of due plans one message, not one per plan.
    slots = {r.scheduled_for for r in requests}
    assert len(listener.of(JobsQueued)) <= len(slots) * len(BURST_HOSTS) * 3


async def test_an_announcement_too_large_for_one_message_is_split_and_every_job_still_announced_first(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "ANNOUNCEMENT_BYTES", 4096)  # NATS' max_payload stands in for this
    plans = [
        make_plan(name=f"wide-{i}", targets=(ev.TargetSelector(kind="volume", names=("v" * 200,)),)) for i in range(20)
    ]
    for plan in plans:
        await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested, count=len(plans))

    first_slot = min(r.scheduled_for for r in listener.of(BackupRequested))
    announced = [h for h in listener.heard_of(JobsQueued) if h.event.jobs[0].scheduled_for == first_slot]  # type: ignore[attr-defined]
    assert len(announced) > 1
    for heard in announced:
        assert len(heard.event.model_dump_json()) <= 4096 or len(heard.event.jobs) == 1  # type: ignore[attr-defined]
    assert sum(len(h.event.jobs) for h in announced) == len(plans)  # type: ignore[attr-defined]


async def test_a_scheduler_stopped_mid_burst_neither_loses_nor_doubles_a_slot_and_announces_every_job(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plans = await put_burst(plans_kv, 300)
    async with running_scheduler(nats_box.url, stop_timeout=0):  # batches in flight are cancelled
        await listener.wait_for(BackupRequested, count=len(plans) + len(plans) // 2)
    stopped_at = datetime.now(UTC)
    async with running_scheduler(nats_box.url):
        for plan in plans:
            await listener.wait_for(
                BackupRequested, lambda e, p=plan: e.plan_id == p.plan_id and e.scheduled_for > stopped_at
            )

    jobs, missed = await events_of(js)
    assert len(jobs) == len({j.job_id for j in jobs})
    for plan in plans:
        mine = [j for j in jobs if j.plan_id == plan.plan_id]
        assert uncovered_slots(mine, [m for m in missed if m.plan_id == plan.plan_id]) == [], plan.name
    announced = {
        item.job_id for e, _ in await stored(js, streams.EVENTS_STREAM) if isinstance(e, JobsQueued) for item in e.jobs
    }
    assert {j.job_id for j in jobs} <= announced


async def test_a_nats_server_restart_mid_run_loses_no_slot(
    nats_box: RestartableNats, js: JetStreamContext, plans_kv: KeyValue, listener: Listener
) -> None:
    plan = make_plan()
    await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url):
        await listener.wait_for(BackupRequested)
        nats_box.stop()
        down_at = datetime.now(UTC)
        nats_box.start()
        await listener.wait_for(BackupRequested, lambda e: e.scheduled_for > down_at + 2 * ONE_SECOND, within=30)
        # The plan watch came back too: a plan put after the outage fires.
        late = make_plan(name="after-the-outage")
        await put_plan(plans_kv, late)
        await listener.wait_for(BackupRequested, lambda e: e.plan_id == late.plan_id, within=10)
    jobs, missed = await events_of(js)
    mine = [j for j in jobs if j.plan_id == plan.plan_id]
    assert len(mine) == len({j.job_id for j in mine})
    assert uncovered_slots(mine, [m for m in missed if m.plan_id == plan.plan_id]) == []


async def test_a_plan_whose_handling_failed_is_retried_at_its_cron_slots_not_at_the_retry_time(
    nats_box: RestartableNats, plans_kv: KeyValue, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockback_scheduler import service

    monkeypatch.setattr(service, "ERROR_RETRY", timedelta(seconds=1.5))  # lands between two slots
    settle = service.Scheduler._settle
    failures = [RuntimeError("a bug")]

    def failing_once(self: service.Scheduler, *args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return settle(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service.Scheduler, "_settle", failing_once)
    plan = make_plan()
    await put_plan(plans_kv, plan)
    async with running_scheduler(nats_box.url):
        requests = await listener.wait_for(BackupRequested, count=2)
    assert not failures
    assert all(r.scheduled_for is not None and r.scheduled_for.microsecond == 0 for r in requests)
