"""The plans list's fire times come from a cache: it must answer exactly what croniter answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dockback_contracts.schedule import next_fire_times, parse_zone
from dockback_gateway.plans.service import fire_times_in_zone


@pytest.mark.parametrize(
    ("cron", "zone"),
    [
        ("17 3 * * *", "Europe/Berlin"),
        ("*/15 * * * *", "UTC"),
        ("*/7 * * * * *", "UTC"),
        ("0 2 * * 0", "America/New_York"),
    ],
)
def test_cached_fire_times_are_those_computed_afresh_as_time_goes_on(cron: str, zone: str) -> None:
    start = datetime(2026, 3, 28, 23, 50, 3, tzinfo=UTC)  # a DST change in Berlin that night
    # steps of 1 s to 9 h: some stay before the next fire time, some cross one or several
    steps = [1, 1, 13, 59, 600, 3600, 7 * 3600, 9 * 3600, 1, 86_399, 2, 300]
    after = start
    for step in steps:
        after += timedelta(seconds=step)
        expected = [t.astimezone(parse_zone(zone)) for t in next_fire_times(cron, zone, after, 5)]
        assert fire_times_in_zone(cron, zone, after) == expected
        assert fire_times_in_zone(cron, zone, after) == expected  # asked twice: from the cache
    earlier = start - timedelta(days=3)  # a clock set back: not answered from a later entry
    assert fire_times_in_zone(cron, zone, earlier) == [
        t.astimezone(parse_zone(zone)) for t in next_fire_times(cron, zone, earlier, 5)
    ]
