"""The next fire time of every plan, earliest first.

A heap keyed by fire time, so a tick costs O(log n) per due plan instead of a look at all
10,000 plans. A plan that changes gets a new entry with a new generation; its older
entries stay in the heap and are skipped when they surface (lazy deletion), and the heap
is rebuilt when such dead entries outnumber the live ones.
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from uuid import UUID


class Timetable:
    """Plan ids by their next fire time; at most one live entry per plan."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, UUID, int]] = []
        self._live: dict[UUID, int] = {}  # plan id -> generation of its live entry
        self._order = itertools.count()  # ties broken by insertion, never by comparing UUIDs
        self._generations = itertools.count(1)

    def __len__(self) -> int:
        return len(self._live)

    def put(self, plan_id: UUID, when: datetime) -> None:
        """Fire ``plan_id`` at ``when``, replacing any earlier entry of that plan."""
        generation = next(self._generations)
        self._live[plan_id] = generation
        heapq.heappush(self._heap, (when, next(self._order), plan_id, generation))
        if len(self._heap) > 2 * len(self._live) + 1024:
            self._compact()

    def remove(self, plan_id: UUID) -> None:
        """Forget the plan's entry (deleted, disabled, or being handled)."""
        self._live.pop(plan_id, None)

    def pop_due(self, now: datetime) -> list[tuple[UUID, datetime]]:
        """Remove and return every live entry at or before ``now``, earliest first."""
        due: list[tuple[UUID, datetime]] = []
        while self._heap and self._heap[0][0] <= now:
            when, _, plan_id, generation = heapq.heappop(self._heap)
            if self._live.get(plan_id) == generation:
                del self._live[plan_id]
                due.append((plan_id, when))
        return due

    def earliest(self) -> datetime | None:
        """The earliest live fire time, or None when nothing is scheduled."""
        while self._heap and self._live.get(self._heap[0][2]) != self._heap[0][3]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if self._live.get(entry[2]) == entry[3]]
        heapq.heapify(self._heap)
