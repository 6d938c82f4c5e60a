"""What to do with the slots a plan has due: fire one, report the others.

Pure logic over :mod:`dockback_scheduler.schedule`. The same rule serves a scheduler that
is on time (one slot due: fire it), one that fell behind (several due at once), and one
that restarts after a downtime:

- Of the slots in ``(after, now]``, only the newest fires, and only if it is within the
  plan's grace (``slot >= now - grace``). Two backups of the same data one after the other
  would be pointless: the newest one covers what the older ones would have.
- Every other slot in the window is missed, and reported: these are consecutive slots, so
  one ``RunMissed`` (first, last, count) says it all. That includes slots within the grace
  that the newest one superseded: they produced no job either, and the gateway's
  reconciliation counts a slot without a job as a missed run, so the two agree.
- Counting is bounded (``limit``): a per-second plan that was down for a year has 31M slots;
  the first and the last missed slot are always exact, the count is exact up to ``limit``
  and otherwise says so (``count_complete`` False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dockback_contracts.schedule import count_fire_times, next_fire_times, previous_fire_time

_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class MissedSlots:
    """Consecutive slots of one plan that produced no job."""

    first: datetime
    last: datetime
    count: int
    count_complete: bool = True


@dataclass(frozen=True)
class Settlement:
    """The decision for a plan's slots in ``(after, now]``."""

    fire: datetime | None = None
    missed: MissedSlots | None = None

    @property
    def handled_upto(self) -> datetime | None:
        """The newest slot decided: the plan's watermark once the decision is carried out."""
        candidates = [t for t in (self.fire, self.missed.last if self.missed else None) if t is not None]
        return max(candidates) if candidates else None

    def give_up_firing(self) -> Settlement:
        """The same decision with the fire turned into a missed slot (it could not be published in time)."""
        if self.fire is None:
            return self
        if self.missed is None:
            return Settlement(missed=MissedSlots(self.fire, self.fire, 1))
        missed = self.missed
        return Settlement(missed=MissedSlots(missed.first, self.fire, missed.count + 1, missed.count_complete))


def settle(cron: str, timezone: str, after: datetime, now: datetime, grace: timedelta, limit: int) -> Settlement:
    """Decide the plan's slots in ``(after, now]`` (see the module docstring).

    A few cron steps when the window holds few slots; at most ``limit`` steps for counting
    however long the window is.
    """
    newest = previous_fire_time(cron, timezone, now)
    if newest is None or newest <= after:
        return Settlement()
    fire = newest if newest >= now - grace else None
    last_missed = previous_fire_time(cron, timezone, newest - _JUST_BEFORE) if fire else newest
    if last_missed is None or last_missed <= after:
        return Settlement(fire=fire)
    first_missed = next_fire_times(cron, timezone, after, 1)[0]
    count, complete = count_fire_times(cron, timezone, after, last_missed, limit)
    return Settlement(fire=fire, missed=MissedSlots(first_missed, last_missed, count, complete))
