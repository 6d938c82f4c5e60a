"""Retention as pure logic: unit tests for calendars and reasons, property tests against a
brute-force reference model. No database, no fixtures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockback_contracts.snapshots import RetentionPolicy
from dockback_gateway.catalog.retention import (
    Candidate,
    PlanRetention,
    RetentionDecision,
    Scope,
    decide,
    decide_by_scope,
    describe_policy,
    format_duration,
    group_by_scope,
)

HOST = "host-a"
PLAN = UUID("00000000-0000-4000-8000-000000000001")
VOLUME = ("volume", "pgdata")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def policy(**rules: int) -> RetentionPolicy:
    """A policy with every rule off except those given (keep_minimum defaults to 1)."""
    return RetentionPolicy(**{"keep_last": 0, **rules})


def artifact(
    created_at: datetime,
    *,
    verified: bool = False,
    pruned: bool = False,
    host_id: str = HOST,
    plan_id: UUID = PLAN,
    resource: tuple[str, str] = VOLUME,
    role: str = "pgdata",
    artifact_id: UUID | None = None,
) -> Candidate:
    return Candidate(
        artifact_id=artifact_id or uuid.uuid4(),
        host_id=host_id,
        plan_id=plan_id,
        resource=resource,
        role=role,
        created_at=created_at,
        verified=verified,
        pruned=pruned,
    )


def at(text: str) -> datetime:
    """An ISO timestamp with its offset, e.g. "2026-10-24T22:30+00:00"."""
    return datetime.fromisoformat(text)


def kept_at(decision: RetentionDecision) -> list[datetime]:
    return sorted(v.candidate.created_at for v in decision.keep)


# --- the rules, one at a time ---------------------------------------------------------------


def test_keep_last_keeps_the_newest_n_and_names_the_rule() -> None:
    history = [artifact(NOW - timedelta(hours=h)) for h in range(6)]

    decision = decide(policy(keep_last=3), history, timezone="UTC", now=NOW)

    assert kept_at(decision) == [NOW - timedelta(hours=h) for h in (2, 1, 0)]
    assert {v.reasons for v in decision.keep} == {("keep_last 3",)}
    assert len(decision.delete) == 3


def test_keep_daily_keeps_the_newest_of_each_of_the_last_days_that_have_a_backup() -> None:
    # Two a day on the 24th, 25th and 27th (none on the 26th); the gap day does not count.
    history = [artifact(at(f"2026-11-{d}T{h:02d}:00+00:00")) for d in (24, 25, 27) for h in (6, 18)]

    decision = decide(policy(keep_daily=2), history, timezone="UTC", now=NOW)

    assert kept_at(decision) == [at("2026-11-25T18:00+00:00"), at("2026-11-27T18:00+00:00")]
    assert [v.reasons for v in decision.keep] == [("daily 2026-11-27",), ("daily 2026-11-25",)]


def test_keep_within_keeps_everything_younger_than_the_duration_before_now() -> None:
    inside = artifact(NOW - timedelta(days=7))  # exactly at the edge: kept
    outside = artifact(NOW - timedelta(days=7, seconds=1))
    newest = artifact(NOW - timedelta(days=1))

    decision = decide(policy(keep_within_seconds=7 * 86400), [inside, outside, newest], timezone="UTC", now=NOW)

    assert decision.keep_ids == {inside.artifact_id, newest.artifact_id}
    assert decision.reasons_of(inside.artifact_id) == ("within 7d",)
    assert decision.delete_ids == {outside.artifact_id}


def test_an_artifact_kept_by_several_rules_lists_every_reason_in_a_fixed_order() -> None:
    newest = artifact(at("2026-11-25T10:00+00:00"), verified=True)
    history = [newest, artifact(at("2026-11-24T10:00+00:00"))]

    decision = decide(
        policy(keep_last=3, keep_daily=1, keep_weekly=1, keep_monthly=1, keep_yearly=1, keep_within_seconds=86400 * 7),
        history,
        timezone="UTC",
        now=at("2026-11-26T00:00+00:00"),
    )

    assert decision.reasons_of(newest.artifact_id) == (
        "keep_last 3",
        "daily 2026-11-25",
        "weekly 2026-W48",
        "monthly 2026-11",
        "yearly 2026",
        "within 7d",
        "newest verified",
    )


def test_a_deleted_artifact_says_which_policy_kept_it_out() -> None:
    old = artifact(NOW - timedelta(days=30))

    decision = decide(
        policy(keep_last=1, keep_daily=1, keep_within_seconds=3600), [old, artifact(NOW)], timezone="UTC", now=NOW
    )

    assert decision.reasons_of(old.artifact_id) == ("kept by no rule (last 1, daily 1, within 1h, minimum 1)",)


# --- safety ----------------------------------------------------------------------------------


def test_the_newest_verified_artifact_is_kept_even_when_no_rule_keeps_it() -> None:
    verified = artifact(NOW - timedelta(days=40), verified=True)
    older_verified = artifact(NOW - timedelta(days=50), verified=True)
    history = [verified, older_verified, *(artifact(NOW - timedelta(days=d)) for d in range(3))]

    decision = decide(policy(keep_last=2), history, timezone="UTC", now=NOW)

    assert decision.reasons_of(verified.artifact_id) == ("newest verified",)
    assert older_verified.artifact_id in decision.delete_ids


def test_with_every_rule_off_the_policy_keeps_just_the_minimum_newest() -> None:
    history = [artifact(NOW - timedelta(hours=h)) for h in range(10)]

    decision = decide(policy(keep_minimum=3), history, timezone="UTC", now=NOW)

    assert kept_at(decision) == [NOW - timedelta(hours=h) for h in (2, 1, 0)]
    assert {v.reasons for v in decision.keep} == {("minimum",)}


def test_the_minimum_tops_up_with_the_newest_artifacts_no_rule_kept() -> None:
    # keep_daily keeps one (all on one day); the minimum of 3 adds the two next newest.
    history = [artifact(at(f"2026-11-25T{h:02d}:00+00:00")) for h in range(1, 6)]

    decision = decide(policy(keep_daily=1, keep_minimum=3), history, timezone="UTC", now=NOW)

    assert [v.reasons for v in decision.keep] == [("daily 2026-11-25",), ("minimum",), ("minimum",)]
    assert kept_at(decision)[0] == at("2026-11-25T03:00+00:00")


def test_an_artifact_from_the_future_is_kept_and_takes_no_rules_place() -> None:
    # The clock went back a day: tomorrow's artifact must not push today's out of keep_last.
    tomorrow = artifact(NOW + timedelta(days=1))
    today = artifact(NOW - timedelta(hours=1))
    yesterday = artifact(NOW - timedelta(days=1))

    decision = decide(policy(keep_last=1), [tomorrow, today, yesterday], timezone="UTC", now=NOW)

    assert decision.reasons_of(tomorrow.artifact_id) == ("from the future",)
    assert decision.reasons_of(today.artifact_id) == ("keep_last 1",)
    assert decision.delete_ids == {yesterday.artifact_id}


def test_pruned_artifacts_are_neither_kept_nor_deleted() -> None:
    gone = artifact(NOW, pruned=True)
    left = artifact(NOW - timedelta(days=1))

    decision = decide(policy(keep_last=1), [gone, left], timezone="UTC", now=NOW)

    assert decision.keep_ids == {left.artifact_id}
    assert decision.delete == ()
    assert decision.ignored == (gone,)


def test_ties_in_created_at_are_broken_by_artifact_id() -> None:
    low = artifact(NOW, artifact_id=UUID(int=1))
    high = artifact(NOW, artifact_id=UUID(int=2))

    for order in ([low, high], [high, low]):
        decision = decide(policy(keep_last=1), order, timezone="UTC", now=NOW)
        assert decision.keep_ids == {high.artifact_id}


def test_one_scope_refuses_artifacts_of_another_scope() -> None:
    mine = artifact(NOW)
    for other in (
        artifact(NOW, host_id="host-b"),
        artifact(NOW, plan_id=uuid.uuid4()),
        artifact(NOW, resource=("volume", "pgdata2")),
        artifact(NOW, role="config"),
    ):
        with pytest.raises(ValueError, match="one scope"):
            decide(policy(keep_last=1), [mine, other], timezone="UTC", now=NOW)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        artifact(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(policy(keep_last=1), [artifact(NOW)], timezone="UTC", now=datetime(2026, 1, 1))


def test_grouping_needs_a_policy_for_every_plan() -> None:
    with pytest.raises(KeyError):
        decide_by_scope([artifact(NOW)], {}, now=NOW)


def test_an_empty_history_decides_nothing() -> None:
    decision = decide(policy(keep_last=1), [], timezone="UTC", now=NOW)

    assert decision == RetentionDecision(scope=None, keep=(), delete=())


# --- calendars in the plan's zone ------------------------------------------------------------


def test_the_25_hour_day_in_berlin_is_one_day() -> None:
    # 2026-10-25 in Europe/Berlin runs from 22:00 UTC on the 24th to 23:00 UTC on the 25th.
    first = artifact(at("2026-10-24T22:30+00:00"))  # 00:30 CEST on the 25th
    last = artifact(at("2026-10-25T22:30+00:00"))  # 23:30 CET on the 25th
    before = artifact(at("2026-10-24T21:30+00:00"))  # 23:30 CEST on the 24th

    decision = decide(policy(keep_daily=5), [first, last, before], timezone="Europe/Berlin", now=NOW)

    assert decision.reasons_of(last.artifact_id) == ("daily 2026-10-25",)
    assert decision.reasons_of(before.artifact_id) == ("daily 2026-10-24",)
    assert decision.delete_ids == {first.artifact_id}


def test_the_23_hour_day_in_berlin_is_one_day() -> None:
    # 2026-03-29 in Europe/Berlin runs from 23:00 UTC on the 28th to 22:00 UTC on the 29th.
    first = artifact(at("2026-03-28T23:30+00:00"))  # 00:30 CET on the 29th
    last = artifact(at("2026-03-29T21:30+00:00"))  # 23:30 CEST on the 29th
    next_day = artifact(at("2026-03-29T22:30+00:00"))  # 00:30 CEST on the 30th

    decision = decide(policy(keep_daily=5), [first, last, next_day], timezone="Europe/Berlin", now=NOW)

    assert decision.reasons_of(next_day.artifact_id) == ("daily 2026-03-30",)
    assert decision.reasons_of(last.artifact_id) == ("daily 2026-03-29",)
    assert decision.delete_ids == {first.artifact_id}


def test_days_are_counted_in_the_plans_zone_not_in_utc() -> None:
    late = artifact(at("2026-11-24T23:30+00:00"))  # the 25th in Berlin, the 24th in UTC
    early = artifact(at("2026-11-25T10:00+00:00"))

    in_berlin = decide(policy(keep_daily=5), [late, early], timezone=ZoneInfo("Europe/Berlin"), now=NOW)
    in_utc = decide(policy(keep_daily=5), [late, early], timezone="UTC", now=NOW)

    assert in_berlin.delete_ids == {late.artifact_id}
    assert in_utc.delete_ids == set()


def test_an_iso_week_spans_the_turn_of_the_year() -> None:
    # 2020-12-31 (Thursday) and 2021-01-03 (Sunday) are both in ISO week 2020-W53;
    # 2021-01-04 (Monday) starts 2021-W01.
    thursday = artifact(at("2020-12-31T12:00+00:00"))
    sunday = artifact(at("2021-01-03T12:00+00:00"))
    monday = artifact(at("2021-01-04T12:00+00:00"))

    weekly = decide(policy(keep_weekly=5), [thursday, sunday, monday], timezone="UTC", now=NOW)
    yearly = decide(policy(keep_yearly=5), [thursday, sunday, monday], timezone="UTC", now=NOW)

    assert weekly.reasons_of(monday.artifact_id) == ("weekly 2021-W01",)
    assert weekly.reasons_of(sunday.artifact_id) == ("weekly 2020-W53",)
    assert weekly.delete_ids == {thursday.artifact_id}
    assert yearly.reasons_of(monday.artifact_id) == ("yearly 2021",)
    assert yearly.reasons_of(thursday.artifact_id) == ("yearly 2020",)
    assert yearly.delete_ids == {sunday.artifact_id}


def test_iso_week_one_can_start_in_december() -> None:
    # 2025-12-29 (Monday) belongs to 2026-W01; in Berlin 23:30 UTC on Sunday the 28th is already Monday.
    sunday_utc_monday_berlin = artifact(at("2025-12-28T23:30+00:00"))

    decision = decide(policy(keep_weekly=1), [sunday_utc_monday_berlin], timezone="Europe/Berlin", now=NOW)

    assert decision.reasons_of(sunday_utc_monday_berlin.artifact_id) == ("weekly 2026-W01",)


def test_durations_and_policies_read_as_a_person_writes_them() -> None:
    assert [format_duration(s) for s in (45, 90, 3600, 129600, 604800)] == ["45s", "1m30s", "1h", "1d12h", "7d"]
    assert describe_policy(policy()) == "minimum 1"
    assert describe_policy(RetentionPolicy(keep_last=3, keep_monthly=6, keep_minimum=2)) == (
        "last 3, monthly 6, minimum 2"
    )


# --- the reference model: obviously correct, slow, written without looking at the module ----

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata"]


def period_keys(local: datetime) -> dict[str, str]:
    iso = local.isocalendar()
    return {
        "daily": local.strftime("%Y-%m-%d"),
        "weekly": f"{iso[0]}-W{iso[1]:02d}",
        "monthly": local.strftime("%Y-%m"),
        "yearly": local.strftime("%Y"),
    }


def reference(rules: RetentionPolicy, history: list[Candidate], zone: str, now: datetime) -> dict[UUID, set[str]]:
    """artifact id -> the kinds of reason that keep it (empty: deleted), pruned ones left out."""

    def newness(c: Candidate) -> tuple[datetime, UUID]:
        return (c.created_at, c.artifact_id)

    live = [c for c in history if not c.pruned]
    present = [c for c in live if c.created_at <= now]
    kinds: dict[UUID, set[str]] = {c.artifact_id: set() for c in live}
    for c in live:
        if c.created_at > now:
            kinds[c.artifact_id].add("from")
    for c in present:
        newer = [o for o in present if newness(o) > newness(c)]
        if len(newer) < rules.keep_last:
            kinds[c.artifact_id].add("keep_last")
        if rules.keep_within_seconds and (now - c.created_at).total_seconds() <= rules.keep_within_seconds:
            kinds[c.artifact_id].add("within")
    for kind, count in (
        ("daily", rules.keep_daily),
        ("weekly", rules.keep_weekly),
        ("monthly", rules.keep_monthly),
        ("yearly", rules.keep_yearly),
    ):
        newest_of_period: dict[str, Candidate] = {}
        for c in present:
            key = period_keys(c.created_at.astimezone(ZoneInfo(zone)))[kind]
            if key not in newest_of_period or newness(c) > newness(newest_of_period[key]):
                newest_of_period[key] = c
        for c in sorted(newest_of_period.values(), key=newness, reverse=True)[:count]:
            kinds[c.artifact_id].add(kind)
    verified = [c for c in present if c.verified]
    if verified:
        kinds[max(verified, key=newness).artifact_id].add("newest")
    for c in sorted(present, key=newness, reverse=True):
        if sum(1 for o in present if kinds[o.artifact_id]) >= rules.keep_minimum:
            break
        if not kinds[c.artifact_id]:
            kinds[c.artifact_id].add("minimum")
    return kinds


def reason_kinds(decision: RetentionDecision) -> dict[UUID, set[str]]:
    kinds = {v.artifact_id: {r.split()[0] for r in v.reasons} for v in decision.keep}
    return kinds | {v.artifact_id: set() for v in decision.delete}


# --- generated histories ---------------------------------------------------------------------

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
YEAR = 366 * 86400

policies = st.builds(
    RetentionPolicy,
    keep_last=st.integers(0, 5),
    keep_daily=st.integers(0, 6),
    keep_weekly=st.integers(0, 4),
    keep_monthly=st.integers(0, 4),
    keep_yearly=st.integers(0, 3),
    keep_within_seconds=st.sampled_from([0, 0, 3600, 86400, 7 * 86400, 40 * 86400, 5 * YEAR]),
    keep_minimum=st.integers(1, 5),
)

# Gaps between backups: minutes, hours, the odd day, and clock jumps of years.
gaps = st.one_of(
    st.integers(0, 3 * 3600),
    st.integers(0, 3 * 86400),
    st.integers(0, 40 * 86400),
    st.integers(YEAR, 30 * YEAR),
)


# One artifact: the gap since the previous one, its id, verified, pruned (one in ten).
artifact_draws = st.tuples(gaps, st.integers(0, 2**128 - 1), st.booleans(), st.integers(0, 9).map(lambda n: n == 0))
starts = st.integers(0, 10 * YEAR)


@st.composite
def histories(draw: st.DrawFn, scope: Scope | None = None, max_size: int = 30) -> list[Candidate]:
    """One scope's artifacts: times with repeated instants (ties), some verified, some pruned."""
    host_id, plan_id, resource, role = scope or Scope(HOST, PLAN, VOLUME, "pgdata")
    created_at = EPOCH + timedelta(seconds=draw(starts))
    history = []
    for gap, artifact_id, verified, pruned in draw(st.lists(artifact_draws, max_size=max_size)):
        created_at += timedelta(seconds=gap)
        history.append(Candidate(UUID(int=artifact_id), host_id, plan_id, resource, role, created_at, verified, pruned))
    return history


now_offsets = st.one_of(st.integers(-40 * 86400, 86400), st.integers(0, 50 * YEAR))


@st.composite
def moments_after(draw: st.DrawFn, history: list[Candidate]) -> datetime:
    """`now`: usually after the newest artifact (up to decades: the clock jumped forward), at
    times before some of them (the clock went back)."""
    latest = max((c.created_at for c in history), default=EPOCH)
    return latest + timedelta(seconds=draw(now_offsets))


def unique_ids(history: list[Candidate]) -> bool:
    return len({c.artifact_id for c in history}) == len(history)


# Thousands of histories in all, a few seconds on a quiet machine; no deadline, since the
# machine running the suite is often busy.
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(PROPERTY, max_examples=800)
@given(data=st.data(), rules=policies, zone=st.sampled_from(ZONES))
def test_decisions_match_the_reference_model(data: st.DataObject, rules: RetentionPolicy, zone: str) -> None:
    history = data.draw(histories().filter(unique_ids))
    now = data.draw(moments_after(history))

    decision = decide(rules, history, timezone=zone, now=now)

    assert reason_kinds(decision) == reference(rules, history, zone, now)


@PROPERTY
@given(data=st.data(), rules=policies, zone=st.sampled_from(ZONES))
def test_decisions_keep_their_promises(data: st.DataObject, rules: RetentionPolicy, zone: str) -> None:
    history = data.draw(histories().filter(unique_ids))
    now = data.draw(moments_after(history))
    live = [c for c in history if not c.pruned]

    decision = decide(rules, history, timezone=zone, now=now)

    assert decision.keep_ids | decision.delete_ids == {c.artifact_id for c in live}
    assert not decision.keep_ids & decision.delete_ids
    assert len(decision.keep) >= min(rules.keep_minimum, len(live))
    verified = [c for c in live if c.verified]
    if verified:
        newest_verified = max(verified, key=lambda c: (c.created_at, c.artifact_id))
        assert newest_verified.artifact_id in decision.keep_ids
    assert all(c.created_at <= now for c in (v.candidate for v in decision.delete))
    assert all(v.reasons for v in (*decision.keep, *decision.delete))


@PROPERTY
@given(data=st.data(), rules=policies, zone=st.sampled_from(ZONES))
def test_applying_a_decision_and_deciding_again_deletes_nothing_more(
    data: st.DataObject, rules: RetentionPolicy, zone: str
) -> None:
    history = data.draw(histories().filter(unique_ids))
    now = data.draw(moments_after(history))

    first = decide(rules, history, timezone=zone, now=now)
    second = decide(rules, [v.candidate for v in first.keep], timezone=zone, now=now)

    assert second.delete == ()
    assert second.keep_ids == first.keep_ids


# Scopes that look alike by name: host ids, resource names and roles that are prefixes of one
# another, two hosts with the same plan ids and volume names ("two hosts sharing one bucket"),
# and plans that differ only by id.
PLAN_IDS = [UUID(int=1), UUID(int=2), UUID(int=1 << 64)]
LOOKALIKE_SCOPES = [
    Scope(host, plan_id, resource, role)
    for host in ("h1", "h10", "h1-b")
    for plan_id in PLAN_IDS
    for resource, role in ((("volume", "db"), "db"), (("volume", "db2"), "db2"), (("container", "db"), "db"))
] + [Scope("h1", PLAN_IDS[0], ("container", "db"), "config"), Scope("h1", PLAN_IDS[0], ("container", "db"), "db2")]


@st.composite
def mixed_histories(draw: st.DrawFn) -> list[Candidate]:
    scopes = draw(st.lists(st.sampled_from(LOOKALIKE_SCOPES), min_size=1, max_size=5, unique=True))
    mixed = [c for scope in scopes for c in draw(histories(scope, max_size=12))]
    return draw(st.permutations(mixed))


@settings(PROPERTY, max_examples=200)
@given(data=st.data(), plan_rules=st.lists(policies, min_size=3, max_size=3), zone=st.sampled_from(ZONES))
def test_a_mixed_list_is_decided_scope_by_scope_and_never_across(
    data: st.DataObject, plan_rules: list[RetentionPolicy], zone: str
) -> None:
    history = data.draw(mixed_histories().filter(unique_ids))
    now = data.draw(moments_after(history))
    plans = {plan_id: PlanRetention(rules, zone) for plan_id, rules in zip(PLAN_IDS, plan_rules, strict=True)}

    decisions = decide_by_scope(history, plans, now=now)

    assert set(decisions) == {c.scope for c in history}
    for scope, decision in decisions.items():
        own = [c for c in history if c.scope == scope]  # exact match on every part of the scope
        assert decision.scope == scope
        assert all(v.candidate.scope == scope for v in (*decision.keep, *decision.delete))
        assert reason_kinds(decision) == reference(plans[scope.plan_id].policy, own, zone, now)
    if len(decisions) > 1:
        with pytest.raises(ValueError, match="one scope"):
            decide(plan_rules[0], history, timezone=zone, now=now)


def test_grouping_keeps_lookalike_scopes_apart() -> None:
    history = [
        artifact(NOW, host_id=s.host_id, plan_id=s.plan_id, resource=s.resource, role=s.role) for s in LOOKALIKE_SCOPES
    ]

    groups = group_by_scope(history)

    assert len(groups) == len(LOOKALIKE_SCOPES)
    assert all(len(members) == 1 for members in groups.values())
