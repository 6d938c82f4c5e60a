"""How many attempts the login brake lets through in a given time: the free ones, then one more
each time the doubling delay (1 s, 2 s, 4 s ...) has passed."""

from __future__ import annotations

import math

FREE_ATTEMPTS = 5


def most_attempts_within(seconds: float) -> int:
    """The free attempts plus the delayed ones that fit in `seconds` (1 + 2 + ... + 2^(k-1) = 2^k - 1)."""
    return FREE_ATTEMPTS + int(math.log2(seconds + 1))
