"""A fetch that found nothing ends as FastStream expects, not by stopping the consumer.

FastStream's pull consumers (every durable consumer here) treat `nats.errors.TimeoutError` from
`fetch()` as "nothing yet" and fetch again. nats-py's `fetch()` also raises the plain
`asyncio.TimeoutError` (its deadline already spent before the lingering pull), which is not
that subclass: the consuming task then dies and FastStream's supervisor restarts it only after
a back-off, so facts and jobs waited 10 s and more (a security test found it, about one run in
three). `apply()` makes `fetch()` raise the subclass for every timeout.
"""

from __future__ import annotations

import functools
from typing import Any

import nats.errors
from nats.js.client import JetStreamContext

_APPLIED = "_dockback_timeouts_as_nats_errors"


def apply() -> None:
    """Patch `JetStreamContext.PullSubscription.fetch` once (idempotent)."""
    subscription = JetStreamContext.PullSubscription
    if getattr(subscription.fetch, _APPLIED, False):
        return
    original = subscription.fetch

    @functools.wraps(original)
    async def fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:  # asyncio.TimeoutError is the builtin since 3.11
            raise nats.errors.TimeoutError from exc

    setattr(fetch, _APPLIED, True)
    subscription.fetch = fetch  # type: ignore[method-assign]
