"""Retention: which artifacts of one archive series a plan's policy keeps, which it deletes, and why.

Pure logic: no I/O, no database, no clock (the caller passes `now`). The gateway feeds it
the artifacts of a scope from the catalog and turns the decision into `PruneRequested`;
the dry-run endpoint shows the decision's reasons to a person.

A scope is one archive series: (host id, plan id, resource, role). Retention never looks
across scopes: `decide` refuses a list that mixes them, and `decide_by_scope` groups a
mixed list first. Scopes compare by id, never by name, so a plan called "db" and one
called "db-prod" never share anything, and two hosts with the same plan and volume names
are two scopes.

Rules (restic's `forget` and borg's `prune`): an artifact is kept when any rule keeps it.
- keep_last N: the N newest.
- keep_daily / keep_weekly / keep_monthly / keep_yearly N: for each of the last N calendar
  days / ISO weeks / months / years (in the plan's time zone) that have an artifact, the
  newest artifact of that period. Periods without an artifact do not count.
- keep_within S: every artifact created at most S seconds before `now` (restic measures
  from the newest snapshot instead; we measure from `now`, as the policy says "younger
  than"). 0 turns the rule off.

Safety, over every rule:
- The newest verified artifact is never deleted.
- At least keep_minimum artifacts remain: when the rules keep fewer, the newest of the
  others are kept too ("minimum"). With every rule at zero, a policy therefore keeps
  exactly the keep_minimum newest artifacts (and the newest verified one).
- An artifact created after `now` (the clock jumped back, or a host's clock is ahead) is
  kept ("from the future") and otherwise left out: it neither fills a keep_last slot,
  a period, nor the minimum, so the decision on the others is the one they would get
  without it.
- Already pruned artifacts are ignored: neither kept nor deleted.

"Newest" orders by created_at, ties broken by artifact id (the larger id counts as newer),
so every decision is deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from dockback_contracts.snapshots import RetentionPolicy

FROM_THE_FUTURE = "from the future"
NEWEST_VERIFIED = "newest verified"
MINIMUM = "minimum"


class Scope(NamedTuple):
    """One archive series: retention never compares artifacts of two scopes."""

    host_id: str
    plan_id: UUID
    resource: tuple[str, str]  # (kind, name)
    role: str


@dataclass(frozen=True)
class Candidate:
    """An artifact as retention sees it."""

    artifact_id: UUID
    host_id: str
    plan_id: UUID
    resource: tuple[str, str]  # (kind, name), e.g. ("volume", "pgdata")
    role: str
    created_at: datetime  # timezone-aware
    verified: bool = False
    pruned: bool = False

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError(f"artifact {self.artifact_id}: created_at must be timezone-aware")

    @property
    def scope(self) -> Scope:
        return Scope(self.host_id, self.plan_id, self.resource, self.role)

    @property
    def age_key(self) -> tuple[datetime, UUID]:
        """Sorts oldest first; the larger id wins a tie in created_at."""
        return (self.created_at, self.artifact_id)


@dataclass(frozen=True)
class Verdict:
    """One artifact and why it is kept or deleted."""

    candidate: Candidate
    reasons: tuple[str, ...]

    @property
    def artifact_id(self) -> UUID:
        return self.candidate.artifact_id


@dataclass(frozen=True)
class RetentionDecision:
    """What a policy keeps and deletes in one scope, newest first, each with its reasons.

    `ignored` holds the already pruned artifacts. `scope` is None only for an empty input.
    """

    scope: Scope | None
    keep: tuple[Verdict, ...]
    delete: tuple[Verdict, ...]
    ignored: tuple[Candidate, ...] = ()

    @property
    def keep_ids(self) -> frozenset[UUID]:
        return frozenset(v.artifact_id for v in self.keep)

    @property
    def delete_ids(self) -> frozenset[UUID]:
        return frozenset(v.artifact_id for v in self.delete)

    def reasons_of(self, artifact_id: UUID) -> tuple[str, ...]:
        for verdict in (*self.keep, *self.delete):
            if verdict.artifact_id == artifact_id:
                return verdict.reasons
        raise KeyError(artifact_id)


@dataclass(frozen=True)
class PlanRetention:
    """A plan's policy and the time zone its calendar periods are counted in."""

    policy: RetentionPolicy
    timezone: tzinfo | str


def _day(local: datetime) -> str:
    return f"{local:%Y-%m-%d}"


def _iso_week(local: datetime) -> str:
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def _month(local: datetime) -> str:
    return f"{local:%Y-%m}"


def _year(local: datetime) -> str:
    return f"{local:%Y}"


_PERIODS: tuple[tuple[str, str, Callable[[datetime], str]], ...] = (
    ("keep_daily", "daily", _day),
    ("keep_weekly", "weekly", _iso_week),
    ("keep_monthly", "monthly", _month),
    ("keep_yearly", "yearly", _year),
)


def format_duration(seconds: int) -> str:
    """A duration as a person reads it: 604800 -> "7d", 129600 -> "1d12h", 90 -> "1m30s"."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def describe_policy(policy: RetentionPolicy) -> str:
    """The policy in one line, rules that are off left out: "last 3, daily 7, within 7d, minimum 1"."""
    parts = [f"last {policy.keep_last}"] if policy.keep_last else []
    parts += [f"{label} {getattr(policy, field)}" for field, label, _ in _PERIODS if getattr(policy, field)]
    if policy.keep_within_seconds:
        parts.append(f"within {format_duration(policy.keep_within_seconds)}")
    parts.append(f"minimum {policy.keep_minimum}")
    return ", ".join(parts)


def _zone(timezone: tzinfo | str) -> tzinfo:
    return ZoneInfo(timezone) if isinstance(timezone, str) else timezone


def group_by_scope(candidates: Iterable[Candidate]) -> dict[Scope, list[Candidate]]:
    """The candidates of each scope, in input order."""
    groups: dict[Scope, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[candidate.scope].append(candidate)
    return dict(groups)


def decide(
    policy: RetentionPolicy, candidates: Iterable[Candidate], *, timezone: tzinfo | str, now: datetime
) -> RetentionDecision:
    """Apply `policy` to the artifacts of ONE scope; raises ValueError when they span several.

    `timezone` is the plan's IANA zone (a name or a tzinfo); `now` must be timezone-aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = _zone(timezone)
    given = list(candidates)
    scopes = {c.scope for c in given}
    if len(scopes) > 1:
        raise ValueError(f"retention applies to one scope at a time; got {len(scopes)}: {sorted(map(str, scopes))}")
    if len({c.artifact_id for c in given}) != len(given):
        raise ValueError("the same artifact id appears twice")

    ignored = tuple(c for c in given if c.pruned)
    live = sorted((c for c in given if not c.pruned), key=lambda c: c.age_key, reverse=True)  # newest first
    reasons: dict[UUID, list[str]] = {c.artifact_id: [] for c in live}

    def keep(candidate: Candidate, reason: str) -> None:
        reasons[candidate.artifact_id].append(reason)

    future = [c for c in live if c.created_at > now]
    present = [c for c in live if c.created_at <= now]
    for candidate in future:
        keep(candidate, FROM_THE_FUTURE)

    for candidate in present[: policy.keep_last]:
        keep(candidate, f"keep_last {policy.keep_last}")

    for field, label, period_of in _PERIODS:
        remaining: int = getattr(policy, field)
        seen: set[str] = set()
        for candidate in present:
            if remaining == 0:
                break
            period = period_of(candidate.created_at.astimezone(zone))
            if period in seen:
                continue  # a newer artifact already stands for this period
            seen.add(period)
            keep(candidate, f"{label} {period}")
            remaining -= 1

    if policy.keep_within_seconds:
        window = timedelta(seconds=policy.keep_within_seconds)
        within = f"within {format_duration(policy.keep_within_seconds)}"
        for candidate in present:
            if now - candidate.created_at > window:
                break
            keep(candidate, within)

    newest_verified = next((c for c in present if c.verified), None)
    if newest_verified is not None:
        keep(newest_verified, NEWEST_VERIFIED)

    kept = sum(1 for c in present if reasons[c.artifact_id])
    for candidate in present:
        if kept >= policy.keep_minimum:
            break
        if not reasons[candidate.artifact_id]:
            keep(candidate, MINIMUM)
            kept += 1

    dropped = f"kept by no rule ({describe_policy(policy)})"
    decision = RetentionDecision(
        scope=next(iter(scopes), None),
        keep=tuple(Verdict(c, tuple(reasons[c.artifact_id])) for c in live if reasons[c.artifact_id]),
        delete=tuple(Verdict(c, (dropped,)) for c in live if not reasons[c.artifact_id]),
        ignored=ignored,
    )
    # The guarantees above, checked once more: a bug here must not delete a backup.
    if newest_verified is not None and newest_verified.artifact_id in decision.delete_ids:
        raise AssertionError("retention would delete the newest verified artifact")
    if len(decision.keep) < min(policy.keep_minimum, len(live)):
        raise AssertionError("retention would keep fewer than keep_minimum artifacts")
    return decision


def decide_by_scope(
    candidates: Iterable[Candidate], plans: Mapping[UUID, PlanRetention], *, now: datetime
) -> dict[Scope, RetentionDecision]:
    """Group a mixed list into scopes and decide each with its plan's policy and zone.

    Raises KeyError when a candidate's plan is missing from `plans`: an artifact is never
    judged by another plan's policy.
    """
    decisions = {}
    for scope, members in group_by_scope(candidates).items():
        if scope.plan_id not in plans:
            raise KeyError(f"no retention policy given for plan {scope.plan_id}")
        plan = plans[scope.plan_id]
        decisions[scope] = decide(plan.policy, members, timezone=plan.timezone, now=now)
    return decisions
