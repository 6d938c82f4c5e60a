"""Wait for an effect that arrives over the bus instead of sleeping a fixed time.

Facts reach the gateway asynchronously (JetStream -> recorder -> Postgres), so a test
polls for the effect with a short interval and a deadline. A fixed sleep would either
waste time or flake; a deadline fails loudly with the last value seen.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,  # noqa: ASYNC109 - the shared helper's signature; polled, not cancelled
    interval: float = 0.05,
) -> T:
    """Re-run `check` (sync or async) until it returns something truthy, and return that.

    An exception raised by `check` counts as "not yet" (an assertion inside the check is
    fine, and so is a row that is not there yet); after `timeout` seconds the test fails
    with the last value or exception seen.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            last, last_error = value, None
            if value:
                return value  # type: ignore[return-value]
        except Exception as error:  # reported at the deadline if it never clears
            last_error = error
        if time.monotonic() >= deadline:
            name = getattr(check, "__qualname__", repr(check))
            if last_error is not None:
                raise AssertionError(
                    f"{name} did not hold within {timeout}s; last error: {last_error!r}"
                ) from last_error
            raise AssertionError(f"{name} did not hold within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)
