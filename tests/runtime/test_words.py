"""Numbers in messages meant for people."""

from __future__ import annotations

from dockback_runtime.words import byte_count


def test_byte_counts_read_as_a_person_reads_them() -> None:
    assert [byte_count(n) for n in (0, 1023, 1024, 4 * 2**20, 3 * 2**30 + 2**29)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "4.0 MiB",
        "3.5 GiB",
    ]
