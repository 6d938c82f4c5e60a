"""The scheduler: keeps the plans from their snapshots and publishes each slot when it is due.

How it holds 10,000 plans:

- A KV watch on `dockback_plans` (`PlanWatch`: the current values, then every change) feeds
  the `PlanBook`; a change recomputes the next fire time of that plan only and wakes the loop,
  so edits take effect within milliseconds.
- A `Timetable` (heap) holds each enabled plan's next fire time. The loop sleeps until the
  earliest one or a change (an `asyncio.Event`), pops what is due and hands it out in batches
  of `BATCH` plans, a task per batch; a semaphore bounds how many batches publish at once.
- A batch is published in two pipelined rounds (`Publisher.publish_all`): one JobsQueued
  per host in the batch (the JobQueued of each of its plans as items), then, once each is
  acked, the BackupRequesteds (and any RunMissed). Each request is thus still stored after
  the gateway's stream holds its job, as when plans were published one by one, but a batch
  costs two waits for acks instead of two per plan, and about one message per plan instead
  of two. A JobQueued item's event id is `queued_event_id(job id)`, the same from every
  replica, so the gateway records a job queued once however many replicas announce it.
- On time, a plan costs one cron step per slot (the one after the slot it fires), and plans
  with the same cron and zone that fire together share it (`_next_slot` caches). Only a plan
  whose next slot is also already due (the scheduler fell behind, or restarted) goes through
  `catchup.settle`: fire the newest slot within the grace, report the others as one RunMissed.

Correctness across replicas and restarts rests on ids, not on coordination: the job id is
uuid5(plan, slot) and is the `Nats-Msg-Id`, so every replica's publish of a slot is one
message. Each plan's last decided slot goes to the `dockback_scheduler` bucket, and a
starting replica resumes after it (see `Watermarks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID, uuid4

from nats.js import JetStreamContext

from dockback_contracts import streams
from dockback_contracts.base import utc_now
from dockback_contracts.events import (
    BackupRequested,
    JobQueued,
    JobsQueued,
    RunMissed,
    queued_event_id,
    scheduled_job_id,
)
from dockback_contracts.schedule import next_fire_times
from dockback_contracts.snapshots import PlanSnapshot
from dockback_runtime.delivery import wait_until_set
from dockback_runtime.tasks import stop_loops
from dockback_scheduler.catchup import Settlement, settle
from dockback_scheduler.handlers import PlanWatch
from dockback_scheduler.metrics import FIRE_LAG
from dockback_scheduler.plans import Change, PlanBook, Shard
from dockback_scheduler.publisher import DEFAULT_BACKOFF, Backoff, Message, Publisher, message_for
from dockback_scheduler.timetable import Timetable
from dockback_scheduler.watermarks import Watermarks

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0
"""The loop sleeps on the monotonic clock, slots are wall-clock instants: waking at least this
often bounds how late a slot fires after the wall clock was stepped (NTP, a VM resumed)."""

ERROR_RETRY = timedelta(seconds=5)
"""When handling a plan fails unexpectedly (a bug, not NATS), try it again after this long
instead of at once, so one broken plan cannot spin the loop."""

BATCH = 128
"""Plans handled by one task (fewer if `publish_concurrency` is lower): enough that acks are
awaited in bulk, few enough that batches overlap (one publishes while another waits for its
acks) and a slow one holds up few plans."""


ANNOUNCEMENT_BYTES = 256 * 1024
"""A JobsQueued larger than this is split in two (NATS refuses a message over its max_payload,
1 MiB by default); a batch's plans of one host usually fit in one."""


@functools.lru_cache(maxsize=16_384)
def _next_slot(cron: str, timezone: str, after: datetime) -> datetime | None:
    """The plan's first fire time after ``after``, or None.

    Cached: deciding a slot and rescheduling the plan ask the same question, and plans with the
    same cron and zone that fire together ask it once between them (a cron step is ~50 µs).
    """
    upcoming = next_fire_times(cron, timezone, after, 1)
    return upcoming[0] if upcoming else None


class _Due(NamedTuple):
    plan_id: UUID
    slot: datetime | None  # None: settle the plan's due slots from scratch
    revision: int


@dataclass
class _Decided:
    """A plan's settlement and the events that carry it out."""

    plan: PlanSnapshot
    settlement: Settlement
    queued: JobQueued | None = None
    request: BackupRequested | None = None
    request_json: bytes = b""  # the request serialised once: its own message's body and its JobQueued's


class Scheduler:
    """Runs in-process: ``await start()``, then ``await stop()``; ``now`` can be injected for tests."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        publish_concurrency: int = 256,
        missed_count_limit: int = 10_000,
        now: Callable[[], datetime] = utc_now,
        backoff: Backoff = DEFAULT_BACKOFF,
        stop_timeout: float = 5.0,
        shard: Shard = Shard(),  # noqa: B008 - frozen
    ) -> None:
        self._js = js
        self._shard = shard
        self._now = now
        self._limit = missed_count_limit
        self._stop_timeout = stop_timeout
        self._publisher = Publisher(js, backoff=backoff)
        self._backoff = backoff
        self._batch = min(BATCH, publish_concurrency)
        self._semaphore = asyncio.Semaphore(max(1, publish_concurrency // self._batch))  # batches at once
        self._book = PlanBook()
        self._timetable = Timetable()
        self._after: dict[UUID, datetime] = {}  # every slot of the plan up to this one is decided
        self._busy: set[UUID] = set()  # plans with a slot being published
        self._retrying: set[UUID] = set()  # plans whose timetable entry was put off after an error
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._watermarks: Watermarks | None = None
        self._stopping = False
        self._watch: PlanWatch | None = None

    @property
    def plan_count(self) -> int:
        return len(self._book)

    async def start(self) -> None:
        """Bind the buckets, load the watermarks and the plans; returns once every current plan is loaded.

        The buckets must exist (the gateway declares them): `BucketNotFoundError` otherwise.
        """
        plans_kv = await self._js.key_value(streams.PLANS_BUCKET)
        self._watermarks = Watermarks(
            self._js, await self._js.key_value(streams.SCHEDULER_BUCKET), backoff=self._backoff
        )
        await self._watermarks.load()
        self._watch = PlanWatch(self._js, plans_kv, self, self._ready, self._backoff, owns=self._shard.owns)
        watching = self._watch.start()
        self._tasks = [
            asyncio.create_task(self._run_loop(), name="scheduler: loop"),
            asyncio.create_task(self._watermarks.run(), name="scheduler: watermarks"),
        ]
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait([ready, watching, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:  # a task died before the plans were loaded: say why
            ready.cancel()
            await self.stop()
            for task in done:
                task.result()
        if self._shard.count > 1:
            log.info(
                "scheduler started with %d plans (%s: the others are fired by the other shards)",
                len(self._book),
                self._shard,
            )
        else:
            log.info("scheduler started with %d plans", len(self._book))

    async def stop(self) -> None:
        """Stop firing; let slots being published finish for a moment, then write the watermarks.

        A slot cancelled before its ack is not marked handled: the next start fires it (within
        the grace) or reports it.
        """
        self._stopping = True
        if self._watch is not None:
            await self._watch.stop()
            self._watch = None
        await stop_loops(*self._tasks)
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=self._stop_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._watermarks is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watermarks.flush(), self._stop_timeout)
        self._tasks = []

    # -- plans ---------------------------------------------------------------------------

    def resync_plans(self) -> None:
        """Watch the plans afresh, e.g. right after NATS reconnected (see `PlanWatch.resync`)."""
        if self._watch is not None:
            self._watch.resync()

    def plan_removed(self, plan_id: UUID) -> None:
        """A plan's key was deleted or purged: it no longer fires."""
        if self._book.remove(plan_id) is Change.REMOVED:
            log.info("plan %s deleted: it no longer fires", plan_id)
            self._forget(plan_id)

    def plan_changed(self, plan: PlanSnapshot) -> None:
        """A plan's snapshot arrived: kept if it is newer than what we have, and rescheduled."""
        plan_id = plan.plan_id
        current = self._book.get(plan_id)
        change = self._book.put(plan)
        if change is Change.STALE:
            newest = current.revision if current else "deleted"
            log.info("ignored revision %d of plan %s: have %s", plan.revision, plan_id, newest)
            return
        if change is Change.ADDED:
            self._after[plan_id] = self._start_after(plan)
        else:  # a change takes effect from its own time on; earlier slots were decided by the old plan
            self._after[plan_id] = max(self._after[plan_id], plan.updated_at)
        if plan_id not in self._busy:  # a busy plan is rescheduled when its publish ends
            self._reschedule(plan_id)

    def _start_after(self, plan: PlanSnapshot) -> datetime:
        """Where a plan seen for the first time resumes: after its watermark, never before it existed.

        Without a watermark (a new plan, or the first scheduler ever) only the grace period
        is looked at: nothing says that older slots were missed rather than handled.
        """
        assert self._watermarks is not None
        watermark = self._watermarks.get(plan.plan_id)
        if watermark is not None:
            return max(watermark, plan.updated_at)
        return max(plan.updated_at, self._now() - timedelta(seconds=plan.missed_run_grace_seconds))

    def _forget(self, plan_id: UUID) -> None:
        self._timetable.remove(plan_id)
        self._after.pop(plan_id, None)
        self._retrying.discard(plan_id)
        assert self._watermarks is not None
        self._watermarks.forget(plan_id)

    def _reschedule(self, plan_id: UUID, not_before: datetime | None = None) -> None:
        """Put the plan's next slot into the timetable (or take it out if it does not fire)."""
        plan = self._book.get(plan_id)
        if plan is None or not plan.enabled:
            self._timetable.remove(plan_id)
            return
        try:
            upcoming = _next_slot(plan.cron, plan.timezone, self._after[plan_id])
        except ValueError as exc:
            log.error("plan %s (%s) cannot fire: %s", plan.name, plan_id, exc)
            self._timetable.remove(plan_id)
            return
        if upcoming is None:
            self._timetable.remove(plan_id)
            return
        if not_before is not None and not_before > upcoming:
            # The entry is no longer the slot itself: the plan's due slots are settled afresh.
            self._retrying.add(plan_id)
            upcoming = not_before
        else:
            self._retrying.discard(plan_id)
        self._timetable.put(plan_id, upcoming)
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------

    async def _run_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            due: list[_Due] = []
            for plan_id, slot in self._timetable.pop_due(self._now()):
                plan = self._book.get(plan_id)
                if plan is None or plan_id in self._busy:
                    continue
                self._busy.add(plan_id)
                due.append(_Due(plan_id, None if plan_id in self._retrying else slot, plan.revision))
            for start in range(0, len(due), self._batch):
                task = asyncio.create_task(self._handle(due[start : start + self._batch]))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            earliest = self._timetable.earliest()
            delay = MAX_SLEEP
            if earliest is not None:
                # +1 ms: asyncio may wake a hair early, and a slot must not be seen as not yet due.
                delay = min(MAX_SLEEP, max(0.0, (earliest - self._now()).total_seconds() + 0.001))
            await wait_until_set(self._wake, delay)  # not wait_for: see its docstring

    async def _handle(self, batch: list[_Due]) -> None:
        """Carry out a batch of due plans; whatever happens, each plan is rescheduled after it."""
        retry_at: dict[UUID, datetime] = {}
        try:
            async with self._semaphore:
                decided = []
                for due in batch:
                    try:
                        decision = self._decide(due)
                    except Exception:  # a bug with one plan must not hold up the others
                        log.exception("handling plan %s failed; trying again in %s", due.plan_id, ERROR_RETRY)
                        retry_at[due.plan_id] = self._now() + ERROR_RETRY
                        continue
                    if decision is not None:
                        decided.append(decision)
                assert self._watermarks is not None
                with self._watermarks.publishing():  # its puts would only lengthen the burst
                    await self._carry_out(decided)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("handling %d plans failed; trying again in %s", len(batch), ERROR_RETRY)
            retry_at = dict.fromkeys((due.plan_id for due in batch), self._now() + ERROR_RETRY)
        finally:
            for due in batch:
                self._busy.discard(due.plan_id)
                if due.plan_id in self._after:  # still there: not deleted meanwhile
                    self._reschedule(due.plan_id, not_before=retry_at.get(due.plan_id))

    def _decide(self, due: _Due) -> _Decided | None:
        """Settle the plan's due slots and build the events that carry the decision out; None if
        the plan no longer fires."""
        plan = self._book.get(due.plan_id)
        if plan is None or not plan.enabled:
            return None
        slot = due.slot if plan.revision == due.revision else None
        now = self._now()
        settlement = self._settle(plan, self._after[plan.plan_id], slot, now)
        decided = _Decided(plan, settlement)
        if settlement.fire is not None:
            decided.request, decided.request_json, decided.queued = firing(plan, settlement.fire, now)
        return decided

    def _settle(self, plan: PlanSnapshot, after: datetime, slot: datetime | None, now: datetime) -> Settlement:
        grace = timedelta(seconds=plan.missed_run_grace_seconds)
        # On time: the slot popped is the only one due; one cron step proves it.
        if slot is not None and after < slot <= now and slot >= now - grace:
            following = _next_slot(plan.cron, plan.timezone, slot)
            if following is None or following > now:
                return Settlement(fire=slot)
        return settle(plan.cron, plan.timezone, after, now, grace, self._limit)

    async def _carry_out(self, decided: list[_Decided]) -> None:
        """Publish what was decided for each plan, then move its watermark.

        The JobsQueued go first: once one is stored the gateway knows its jobs and can publish
        a request again if it is lost, so from then on the request is retried until acked
        whatever the time. Before that, a slot that could not be published while it (or
        another slot announced with it) was within the grace becomes a missed run instead of a
        backup hours late.
        """
        announcements = _announcements([d for d in decided if d.queued is not None])
        stored = await self._publisher.publish_all(
            [event for event, _, _ in announcements],
            [self._any_in_time(group) for _, _, group in announcements],
            messages=[message for _, message, _ in announcements],
        )
        for (_, _, group), ok in zip(announcements, stored, strict=True):
            if not ok:
                for d in group:
                    d.settlement = d.settlement.give_up_firing()
        requests = [d for d in decided if d.settlement.fire is not None and d.request is not None]
        missed = [self._missed_report(d) for d in decided if d.settlement.missed is not None]
        await self._publisher.publish_all(
            [*(d.request for d in requests if d.request is not None), *missed],
            messages=[
                *(message_for(d.request, d.request_json) for d in requests if d.request is not None),
                *(message_for(m) for m in missed),
            ],
        )
        published_at = self._now()
        assert self._watermarks is not None
        fired_slots = []
        for d in decided:
            plan_id, fired, handled = d.plan.plan_id, d.settlement.fire, d.settlement.handled_upto
            if fired is not None and d.request is not None:
                fired_slots.append(fired)
                FIRE_LAG.observe(max(0.0, (published_at - fired).total_seconds()))
                log.debug("fired plan %r (%s) for %s: job %s", d.plan.name, plan_id, fired, d.request.job_id)
            if handled is not None and plan_id in self._after:
                self._after[plan_id] = max(self._after[plan_id], handled)
                self._watermarks.record(plan_id, handled)
        if fired_slots:
            # One line per batch: a line per plan cost ~25 µs, a tenth of what firing the plan
            # costs, and says nothing that the JOBS stream and the gateway's job list do not.
            first, last = min(fired_slots), max(fired_slots)
            when = first.isoformat() if first == last else f"slots {first.isoformat()} to {last.isoformat()}"
            log.info("fired %d plan(s) for %s", len(fired_slots), when)

    def _any_in_time(self, group: list[_Decided]) -> Callable[[], bool]:
        deadlines = []
        for decided in group:
            assert decided.settlement.fire is not None
            deadlines.append(decided.settlement.fire + timedelta(seconds=decided.plan.missed_run_grace_seconds))
        latest = max(deadlines)
        return lambda: self._now() <= latest

    def _missed_report(self, decided: _Decided) -> RunMissed:
        plan, missed, fired = decided.plan, decided.settlement.missed, decided.settlement.fire
        assert missed is not None
        count = f"{missed.count}" if missed.count_complete else f"at least {missed.count}"
        reason = f"{count} slot(s) passed while the scheduler was not running or could not publish"
        reason += (
            f"; only the newest slot within the grace period ran ({fired.isoformat()})"
            if fired
            else "; none was within the grace period, so none ran"
        )
        log.warning(
            "plan %r (%s) missed %s slot(s) from %s to %s",
            plan.name,
            plan.plan_id,
            count,
            missed.first.isoformat(),
            missed.last.isoformat(),
        )
        return RunMissed(
            host_id=plan.host_id,
            plan_id=plan.plan_id,
            plan_name=plan.name,
            scheduled_for=missed.first,
            missed_slots=missed.count,
            last_scheduled_for=missed.last,
            reason=reason,
        )


def firing(plan: PlanSnapshot, slot: datetime, now: datetime) -> tuple[BackupRequested, bytes, JobQueued]:
    """The request that fires `plan` for `slot`, its JSON, and the JobQueued that announces it."""
    request = BackupRequested(
        job_id=scheduled_job_id(plan.plan_id, slot),
        host_id=plan.host_id,
        plan_id=plan.plan_id,
        targets=plan.targets,
        options=plan.options,
        upload_targets=plan.upload_targets,
        scheduled_for=slot,
    )
    # Built from the request just validated, so not validated again (a quarter of the CPU a plan
    # costs would go to checking what is known to hold).
    queued = JobQueued.model_construct(
        event_id=queued_event_id(request.job_id),
        occurred_at=now,
        job_id=request.job_id,
        host_id=plan.host_id,
        kind="backup",
        plan_id=plan.plan_id,
        scheduled_for=slot,
        request=request,
    )
    return request, request.__pydantic_serializer__.to_json(request), queued


def announcement_json(event: JobsQueued, requests_json: list[bytes]) -> bytes:
    """What `event.model_dump_json()` gives, with each item's request taken from `requests_json`
    (the same order) instead of serialised again: a JobQueued's request is its last field and a
    JobsQueued's jobs its last, so each object is its JSON without them, then them."""
    head = event.__pydantic_serializer__.to_json(event, exclude={"jobs"})
    items = [
        item.__pydantic_serializer__.to_json(item, exclude={"request"})[:-1] + b',"request":' + request + b"}"
        for item, request in zip(event.jobs, requests_json, strict=True)
    ]
    return head[:-1] + b',"jobs":[' + b",".join(items) + b"]}"


def _announcements(firing: list[_Decided]) -> list[tuple[JobsQueued, Message, list[_Decided]]]:
    """The JobsQueued that announce ``firing``: one per host, split where one would be too large."""
    by_host: dict[str, list[_Decided]] = {}
    for decided in firing:
        by_host.setdefault(decided.plan.host_id, []).append(decided)
    return [announcement for host, group in by_host.items() for announcement in _announce(host, group)]


def _announce(host_id: str, group: list[_Decided]) -> list[tuple[JobsQueued, Message, list[_Decided]]]:
    items = tuple(d.queued for d in group if d.queued is not None)
    # The items are valid, and so is this. Its defaults given: model_construct looks at each default
    # factory's signature when it calls it, which cost five times what constructing does.
    event = JobsQueued.model_construct(event_id=uuid4(), occurred_at=utc_now(), host_id=host_id, jobs=items)
    message = message_for(event, announcement_json(event, [d.request_json for d in group if d.queued is not None]))
    if len(message.payload) > ANNOUNCEMENT_BYTES and len(group) > 1:
        half = len(group) // 2
        return _announce(host_id, group[:half]) + _announce(host_id, group[half:])
    return [(event, message, group)]
