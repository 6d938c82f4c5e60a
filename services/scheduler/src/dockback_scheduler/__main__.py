"""Entry point of the scheduler.

`dockback-scheduler`, `python -m dockback_scheduler` publishes BackupRequested when plans are due.
`dockback-scheduler ping` is the container healthcheck (exit 0 when NATS answers).
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from dockback_runtime.health import nats_check, run_ping
from dockback_runtime.logs import setup_logging
from dockback_runtime.metrics import serve_metrics
from dockback_scheduler.app import run
from dockback_scheduler.settings import Settings


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:  # one line per wrong variable, not a traceback
        problems = "; ".join(
            (f"DOCKBACK_{'_'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "") + e["msg"] for e in exc.errors()
        )
        raise SystemExit(f"dockback-scheduler: invalid configuration: {problems}") from None
    if sys.argv[1:] == ["ping"]:
        raise SystemExit(ping(settings))
    setup_logging("scheduler", settings.log_level)
    serve_metrics()
    asyncio.run(run(settings))


def ping(settings: Settings) -> int:
    """`dockback-scheduler ping`: exit 0 when NATS answers with this service's settings and credentials."""
    return run_ping([nats_check(settings, "dockback-scheduler-ping")])


if __name__ == "__main__":
    main()
