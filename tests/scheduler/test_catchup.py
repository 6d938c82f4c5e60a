"""Deciding a plan's due slots: the newest within the grace fires, the others are one report.

`settle` skips the enumeration that `due_slots` does; here it is held against `due_slots`
(the reference) over random windows, DST transitions included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dockback_contracts.schedule import count_fire_times, due_slots, fire_times, previous_fire_time
from dockback_scheduler.catchup import MissedSlots, Settlement, settle

from .cron_windows import CRONS, ZONES, any_window

graces = st.sampled_from([timedelta(0), timedelta(minutes=20), timedelta(hours=2), timedelta(days=2)])


@settings(max_examples=300, deadline=None)
@given(cron=st.sampled_from(CRONS), zone=st.sampled_from(ZONES), window=any_window, grace=graces)
def test_settle_fires_the_newest_slot_within_the_grace_and_reports_every_other(
    cron: str, zone: str, window: tuple[datetime, datetime], grace: timedelta
) -> None:
    after, now = window
    to_fire, missed = due_slots(cron, zone, after, now, grace)
    decided = settle(cron, zone, after, now, grace, limit=10_000)

    assert decided.fire == (to_fire[-1] if to_fire else None)
    not_fired = missed + to_fire[:-1]
    if not not_fired:
        assert decided.missed is None
    else:
        assert decided.missed == MissedSlots(not_fired[0], not_fired[-1], len(not_fired), True)
    assert decided.handled_upto == (max(missed + to_fire) if missed + to_fire else None)


def test_the_count_stops_at_the_limit_but_first_and_last_stay_exact() -> None:
    now = datetime(2026, 6, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    after = now - timedelta(days=365)
    decided = settle("* * * * * *", "Europe/Berlin", after, now, timedelta(seconds=5), limit=1000)
    assert decided.fire == datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert decided.missed == MissedSlots(
        after.replace(microsecond=0) + timedelta(seconds=1), decided.fire - timedelta(seconds=1), 1000, False
    )


def test_a_fire_that_could_not_be_published_in_time_becomes_the_last_missed_slot() -> None:
    t = datetime(2026, 6, 1, 12, tzinfo=UTC)
    earlier = MissedSlots(t - timedelta(minutes=20), t - timedelta(minutes=10), 2)
    assert Settlement(fire=t, missed=earlier).give_up_firing() == Settlement(
        missed=MissedSlots(t - timedelta(minutes=20), t, 3)
    )
    assert Settlement(fire=t).give_up_firing() == Settlement(missed=MissedSlots(t, t, 1))


@settings(max_examples=300, deadline=None)
@given(cron=st.sampled_from(CRONS), zone=st.sampled_from(ZONES), window=any_window)
def test_previous_fire_time_is_the_last_of_the_window(cron: str, zone: str, window: tuple[datetime, datetime]) -> None:
    after, until = window
    times = fire_times(cron, zone, after, until)
    previous = previous_fire_time(cron, zone, until)
    if times:
        assert previous == times[-1]
    else:
        assert previous is None or previous <= after


@settings(max_examples=200, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    window=any_window,
    limit=st.integers(min_value=0, max_value=300),
)
def test_count_fire_times_counts_up_to_its_limit(
    cron: str, zone: str, window: tuple[datetime, datetime], limit: int
) -> None:
    after, until = window
    n = len(fire_times(cron, zone, after, until))
    assert count_fire_times(cron, zone, after, until, limit) == (min(n, limit), n <= limit)


def test_previous_fire_time_in_a_repeated_hour_is_the_first_pass() -> None:
    # Berlin, 27 Oct 2024: 02:00-03:00 happens twice (00:00-01:00 UTC, then 01:00-02:00 UTC).
    # At 01:20 UTC (02:20 in the second pass) the last slot of "*/15" was 02:45 of the first pass.
    assert previous_fire_time("*/15 * * * *", "Europe/Berlin", datetime(2024, 10, 27, 1, 20, tzinfo=UTC)) == (
        datetime(2024, 10, 27, 0, 45, tzinfo=UTC)
    )
