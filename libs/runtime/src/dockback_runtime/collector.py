"""Keeping a long-running service's startup objects out of the garbage collector's full passes."""

from __future__ import annotations

import gc


def keep_out_of_collections() -> None:
    """Leave what is loaded now (the modules, the app, what a service keeps for good: the
    scheduler's plans and watermarks) out of the garbage collector's full passes. Each full pass
    walks every tracked object: with them in, the scheduler spent a fifth of a burst of 10,000
    due plans in it, and every third dashboard request of the gateway took twice as long. What is
    freed later is still freed when nothing refers to it; only a reference cycle among these
    objects would stay. Call it once a service has started, not per request."""
    gc.collect()  # the startup's own garbage first: frozen, it would never be collected
    gc.freeze()
