"""The crons, zones and windows (DST transitions among ordinary days) that properties of fire
times are drawn from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
CRONS = ["*/15 * * * *", "30 2 * * *", "0 * * * *", "0,30 1-3 * * *", "45 */2 * * 1-5", "0 0 1 * *", "*/7 * * * *"]
# Windows that straddle DST transitions in the zones above, among ordinary days.
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
windows = st.tuples(
    st.integers(min_value=0, max_value=3 * 366 * 24 * 60),  # start, minutes after EPOCH
    st.integers(min_value=0, max_value=3 * 24 * 60),  # length in minutes
    st.integers(min_value=0, max_value=59),  # odd seconds in the start
).map(lambda t: (EPOCH + timedelta(minutes=t[0], seconds=t[2]), EPOCH + timedelta(minutes=t[0] + t[1], seconds=t[2])))
# Dates around every transition in the zones above (2024), so the DST paths get drawn often.
TRANSITION_DAYS = [
    datetime(2024, 3, 31, tzinfo=UTC),  # Europe/Berlin spring forward
    datetime(2024, 10, 27, tzinfo=UTC),  # Europe/Berlin fall back
    datetime(2024, 3, 10, tzinfo=UTC),  # America/New_York spring forward
    datetime(2024, 11, 3, tzinfo=UTC),  # America/New_York fall back
    datetime(2024, 4, 6, 12, tzinfo=UTC),  # Australia/Lord_Howe fall back (+11 -> +10:30), 07 Apr local
    datetime(2024, 10, 5, 12, tzinfo=UTC),  # Australia/Lord_Howe spring forward (+10:30 -> +11), 06 Oct local
]
transition_windows = st.tuples(
    st.sampled_from(TRANSITION_DAYS),
    st.integers(min_value=-36 * 60, max_value=12 * 60),
    st.integers(min_value=0, max_value=48 * 60),
).map(lambda t: (t[0] + timedelta(minutes=t[1]), t[0] + timedelta(minutes=t[1] + t[2])))
any_window = st.one_of(windows, transition_windows)
