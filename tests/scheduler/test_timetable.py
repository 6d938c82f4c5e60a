"""The timetable hands out each plan's live entry once, earliest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dockback_scheduler.timetable import Timetable

T = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_due_plans_come_out_earliest_first_and_only_once() -> None:
    table = Timetable()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    table.put(a, T + timedelta(seconds=2))
    table.put(b, T + timedelta(seconds=1))
    table.put(c, T + timedelta(seconds=9))
    assert table.pop_due(T + timedelta(seconds=5)) == [(b, T + timedelta(seconds=1)), (a, T + timedelta(seconds=2))]
    assert table.pop_due(T + timedelta(seconds=5)) == []
    assert table.earliest() == T + timedelta(seconds=9)


def test_a_replaced_or_removed_entry_never_fires() -> None:
    table = Timetable()
    a, b = uuid.uuid4(), uuid.uuid4()
    table.put(a, T)
    table.put(a, T + timedelta(minutes=5))  # the plan changed
    table.put(b, T)
    table.remove(b)  # the plan was deleted
    assert table.earliest() == T + timedelta(minutes=5)
    assert table.pop_due(T + timedelta(minutes=1)) == []
    assert table.pop_due(T + timedelta(minutes=5)) == [(a, T + timedelta(minutes=5))]
    assert len(table) == 0


def test_dead_entries_are_compacted_away() -> None:
    table = Timetable()
    plan = uuid.uuid4()
    for i in range(5000):
        table.put(plan, T + timedelta(seconds=i))
    assert len(table._heap) < 2000
    assert table.pop_due(T + timedelta(days=1)) == [(plan, T + timedelta(seconds=4999))]
