"""The current plans, from their snapshots, where a newer revision always wins.

Snapshots can arrive out of order (an outbox relay retrying an old one, a KV history
replayed at start), so a snapshot replaces the plan only if its revision is higher. A
deleted plan keeps a tombstone with its last revision, so an older snapshot arriving after
the delete does not bring it back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from uuid import UUID

from dockback_contracts.snapshots import PlanSnapshot


class Change(enum.Enum):
    """What applying a snapshot or a delete did."""

    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    STALE = "stale"  # an older (or the same) revision: ignored
    NONE = "none"  # a delete of a plan we did not have


@dataclass(frozen=True)
class Shard:
    """Which plans one scheduler process fires: with `count` processes, those whose id modulo
    `count` is `index`. One process (the default) fires every plan.

    The share depends on the plan id only, so it never changes while a plan lives, every process
    computes the same shares, and a plan that moves to another process when `count` changes
    resumes from its watermark there (a slot both fire while they restart is one job: its id is
    the message id)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}: the index must be from 0 to {self.count - 1}")

    def owns(self, plan_id: UUID) -> bool:
        return self.count == 1 or plan_id.int % self.count == self.index

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"


class PlanBook:
    """Plan id -> the newest snapshot seen."""

    def __init__(self) -> None:
        self._plans: dict[UUID, PlanSnapshot] = {}
        self._removed: dict[UUID, int] = {}  # plan id -> its last revision before the delete

    def __len__(self) -> int:
        return len(self._plans)

    def get(self, plan_id: UUID) -> PlanSnapshot | None:
        return self._plans.get(plan_id)

    def put(self, plan: PlanSnapshot) -> Change:
        """Apply a snapshot: kept if its revision is newer than anything seen for the plan."""
        current = self._plans.get(plan.plan_id)
        newest = current.revision if current else self._removed.get(plan.plan_id, 0)
        if plan.revision <= newest:
            return Change.STALE
        self._plans[plan.plan_id] = plan
        self._removed.pop(plan.plan_id, None)
        return Change.CHANGED if current else Change.ADDED

    def remove(self, plan_id: UUID) -> Change:
        """Apply a delete or purge of the plan's key."""
        current = self._plans.pop(plan_id, None)
        if current is None:
            return Change.NONE
        self._removed[plan_id] = current.revision
        return Change.REMOVED
