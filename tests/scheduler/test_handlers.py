"""The plan watch hands the scheduler only well-formed plans, each under its own key (no server:
`apply` is the whole rule for one bucket entry)."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from nats.js.kv import KV_DEL, KV_PURGE

from dockback_contracts.snapshots import PlanSnapshot
from dockback_scheduler.handlers import PlanWatch
from dockback_scheduler.publisher import DEFAULT_BACKOFF
from scheduler.conftest import make_plan


class Sink:
    def __init__(self) -> None:
        self.changed: list[PlanSnapshot] = []
        self.removed: list[UUID] = []

    def plan_changed(self, plan: PlanSnapshot) -> None:
        self.changed.append(plan)

    def plan_removed(self, plan_id: UUID) -> None:
        self.removed.append(plan_id)


def watch_into(sink: Sink) -> PlanWatch:
    return PlanWatch(None, None, sink, asyncio.Event(), DEFAULT_BACKOFF)  # type: ignore[arg-type] - apply needs no bucket


def test_a_plan_under_its_own_id_is_handed_over() -> None:
    sink, plan = Sink(), make_plan()
    watch_into(sink).apply(str(plan.plan_id), None, plan.model_dump_json().encode())
    assert sink.changed == [plan]


def test_a_delete_or_purge_removes_the_plan() -> None:
    sink, plan_id = Sink(), uuid4()
    watch = watch_into(sink)
    watch.apply(str(plan_id), KV_DEL, None)
    watch.apply(str(plan_id), KV_PURGE, None)
    assert sink.removed == [plan_id, plan_id]


def test_a_key_that_is_not_a_plan_id_a_snapshot_that_does_not_parse_or_names_another_plan_is_ignored() -> None:
    sink, plan = Sink(), make_plan()
    watch = watch_into(sink)
    watch.apply("not-a-uuid", None, plan.model_dump_json().encode())
    watch.apply(str(plan.plan_id), None, b'{"plan_id": "nope"}')
    watch.apply(str(uuid4()), None, plan.model_dump_json().encode())
    assert (sink.changed, sink.removed) == ([], [])
