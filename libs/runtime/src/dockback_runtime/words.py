"""How numbers read in messages meant for people: job failure reasons, job log lines, alerts."""

from __future__ import annotations


def byte_count(size: int) -> str:
    """A byte count as a person reads it: 512 B, 12.3 MiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
