"""When a plan fires (pure logic). TEMPORARY re-export: the code moves here from
`dockback_scheduler.schedule` once the scheduler's current work lands; import it from here."""

from dockback_scheduler.schedule import due_slots, fire_times, next_fire_times, parse_zone, validate_cron

__all__ = ["due_slots", "fire_times", "next_fire_times", "parse_zone", "validate_cron"]
