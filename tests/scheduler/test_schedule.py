"""Fire times of plans: time zones, DST, windows and the grace split after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockback_contracts.schedule import due_slots, fire_times, next_fire_times

from .cron_windows import CRONS, ZONES, any_window


def _local(instants: list[datetime], zone: str) -> list[str]:
    return [i.astimezone(ZoneInfo(zone)).isoformat() for i in instants]


@settings(max_examples=300, deadline=None)
@given(cron=st.sampled_from(CRONS), zone=st.sampled_from(ZONES), window=any_window)
def test_fire_times_ascending_in_window_aware_utc(cron: str, zone: str, window: tuple[datetime, datetime]) -> None:
    after, until = window
    times = fire_times(cron, zone, after, until)
    assert all(t.tzinfo is UTC for t in times)
    assert all(after < t <= until for t in times)
    assert all(a < b for a, b in pairwise(times))


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES), window=any_window)
def test_every_15_minutes_has_no_duplicate_instants(zone: str, window: tuple[datetime, datetime]) -> None:
    after, until = window
    times = fire_times("*/15 * * * *", zone, after, until)
    assert len(times) == len(set(times))
    # Each fire is at a quarter hour of local wall time (or the end of a DST gap, also one).
    for t in times:
        local = t.astimezone(ZoneInfo(zone))
        assert local.minute % 15 == 0
        assert local.second == 0


@settings(max_examples=200, deadline=None)
@given(cron=st.sampled_from(CRONS), zone=st.sampled_from(ZONES), window=any_window, cut=st.floats(0, 1))
def test_windows_compose(cron: str, zone: str, window: tuple[datetime, datetime], cut: float) -> None:
    """Splitting a window in two loses no slot and fires none twice (a restarted scheduler)."""
    after, until = window
    middle = after + (until - after) * cut
    assert fire_times(cron, zone, after, middle) + fire_times(cron, zone, middle, until) == fire_times(
        cron, zone, after, until
    )


@settings(max_examples=100, deadline=None)
@given(cron=st.sampled_from(CRONS), zone=st.sampled_from(ZONES), window=any_window)
def test_next_fire_times_agree_with_fire_times(cron: str, zone: str, window: tuple[datetime, datetime]) -> None:
    after, _ = window
    upcoming = next_fire_times(cron, zone, after)
    assert len(upcoming) == 5
    assert fire_times(cron, zone, after, upcoming[-1]) == upcoming


@pytest.mark.parametrize(
    ("zone", "day", "expected_local"),
    [
        # The clocks jump from 02:00 to 03:00: 02:30 does not exist, the plan fires once at 03:00.
        ("Europe/Berlin", datetime(2024, 3, 31), "2024-03-31T03:00:00+02:00"),
        ("America/New_York", datetime(2024, 3, 10), "2024-03-10T03:00:00-04:00"),
        # The clocks go back from 03:00 to 02:00: 02:30 exists twice, the plan fires once, the first time.
        ("Europe/Berlin", datetime(2024, 10, 27), "2024-10-27T02:30:00+02:00"),
        # New York repeats 01:00-02:00, so 02:30 is an ordinary time that day.
        ("America/New_York", datetime(2024, 11, 3), "2024-11-03T02:30:00-05:00"),
    ],
)
def test_daily_0230_fires_once_on_dst_days(zone: str, day: datetime, expected_local: str) -> None:
    tz = ZoneInfo(zone)
    start = day.replace(tzinfo=tz)
    times = fire_times("30 2 * * *", zone, start, start + timedelta(days=1))
    assert _local(times, zone) == [expected_local]
    # And the days around it fire at 02:30 as usual, once a day.
    week = fire_times("30 2 * * *", zone, start - timedelta(days=3), start + timedelta(days=4))
    assert len(week) == 7
    assert all(a < b for a, b in pairwise(week))


def test_repeated_hour_in_new_york_fires_once() -> None:
    """America/New_York repeats 01:30 on the first Sunday of November: a 01:30 plan fires once."""
    start = datetime(2024, 11, 3, tzinfo=ZoneInfo("America/New_York"))
    times = fire_times("30 1 * * *", "America/New_York", start, start + timedelta(days=1))
    assert _local(times, "America/New_York") == ["2024-11-03T01:30:00-04:00"]


def test_lord_howe_half_hour_shifts() -> None:
    zone = "Australia/Lord_Howe"
    # 2024-10-06: 02:00 +10:30 becomes 02:30 +11:00; the 02:00 and 02:15 slots collapse into 02:30.
    start = datetime(2024, 10, 6, 1, 30, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    times = fire_times("*/15 * * * *", zone, start, start + timedelta(hours=1))  # real hour: to 03:00 +11
    assert _local(times, zone) == [
        "2024-10-06T01:45:00+10:30",
        "2024-10-06T02:30:00+11:00",
        "2024-10-06T02:45:00+11:00",
        "2024-10-06T03:00:00+11:00",
    ]
    # 2024-04-07: 02:00 +11:00 becomes 01:30 +10:30; 01:45 exists twice and fires once.
    start = datetime(2024, 4, 7, tzinfo=ZoneInfo(zone))
    assert _local(fire_times("45 1 * * *", zone, start, start + timedelta(days=1)), zone) == [
        "2024-04-07T01:45:00+11:00"
    ]


def test_wildcard_hour_skips_the_second_pass_of_a_repeated_hour() -> None:
    zone = "Europe/Berlin"
    after = datetime(2024, 10, 27, 1, 45, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    times = fire_times("*/15 * * * *", zone, after, after + timedelta(hours=2, minutes=30))
    assert _local(times, zone) == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:15:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:45:00+02:00",
        "2024-10-27T03:00:00+01:00",
        "2024-10-27T03:15:00+01:00",
    ]


def test_window_is_half_open() -> None:
    at = datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert fire_times("0 12 * * *", "UTC", at, at + timedelta(days=1)) == [at + timedelta(days=1)]
    assert fire_times("0 12 * * *", "UTC", at - timedelta(seconds=1), at) == [at]
    assert fire_times("0 12 * * *", "UTC", at, at) == []


def test_results_are_utc_whatever_the_input_zone() -> None:
    after = datetime(2024, 6, 1, 9, tzinfo=ZoneInfo("Asia/Kolkata"))
    times = next_fire_times("0 10 * * *", "Asia/Kolkata", after, count=2)
    assert times == [datetime(2024, 6, 1, 4, 30, tzinfo=UTC), datetime(2024, 6, 2, 4, 30, tzinfo=UTC)]
    assert all(t.tzinfo is UTC for t in times)


def test_due_slots_split_by_grace() -> None:
    last = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    now = datetime(2024, 6, 1, 13, 0, tzinfo=UTC)
    to_fire, missed = due_slots("*/15 * * * *", "UTC", last, now, timedelta(minutes=15))
    assert missed == [datetime(2024, 6, 1, 12, 15, tzinfo=UTC), datetime(2024, 6, 1, 12, 30, tzinfo=UTC)]
    # 12:45 is exactly grace old: it still fires.
    assert to_fire == [datetime(2024, 6, 1, 12, 45, tzinfo=UTC), datetime(2024, 6, 1, 13, 0, tzinfo=UTC)]


@settings(max_examples=200, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    window=any_window,
    grace=st.integers(min_value=0, max_value=6 * 60).map(lambda m: timedelta(minutes=m)),
)
def test_due_slots_partition(cron: str, zone: str, window: tuple[datetime, datetime], grace: timedelta) -> None:
    last, now = window
    to_fire, missed = due_slots(cron, zone, last, now, grace)
    assert missed + to_fire == fire_times(cron, zone, last, now)
    assert all(now - slot > grace for slot in missed)
    assert all(now - slot <= grace for slot in to_fire)


def test_due_slots_rejects_negative_grace() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="grace"):
        due_slots("* * * * *", "UTC", now - timedelta(hours=1), now, timedelta(seconds=-1))


@pytest.mark.parametrize("cron", ["", "   ", "not a cron", "61 * * * *", "* * * *", "* 25 * * *", "H * * * *"])
def test_invalid_cron_is_named(cron: str) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="cron expression"):
        fire_times(cron, "UTC", now, now + timedelta(days=1))
    with pytest.raises(ValueError, match="cron expression"):
        next_fire_times(cron, "Europe/Berlin", now)


@pytest.mark.parametrize("zone", ["", "Mars/Olympus_Mons", "Europe/Berlinn", "/etc/passwd", "../UTC", "+02:00"])
def test_invalid_zone_is_named(zone: str) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        fire_times("* * * * *", zone, now, now + timedelta(days=1))
    with pytest.raises(ValueError, match="time zone"):
        due_slots("* * * * *", zone, now, now + timedelta(minutes=5), timedelta(minutes=1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        fire_times("* * * * *", "UTC", datetime(2024, 6, 1), datetime(2024, 6, 2, tzinfo=UTC))


def test_expression_that_never_fires_yields_nothing() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert next_fire_times("0 0 30 2 *", "UTC", now) == []
