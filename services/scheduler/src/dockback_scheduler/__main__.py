"""Entry point of the scheduler.

`dockback-scheduler`, `python -m dockback_scheduler` publishes BackupRequested when plans are due.
`dockback-scheduler ping` is the container healthcheck (exit 0 when NATS answers).
"""

from __future__ import annotations

import asyncio
import sys

from dockback_runtime.configuration import load_settings
from dockback_runtime.health import nats_check, run_ping
from dockback_runtime.logs import setup_logging
from dockback_runtime.metrics import serve_metrics
from dockback_scheduler.app import run
from dockback_scheduler.settings import Settings


def main() -> None:
    settings = load_settings(Settings, "dockback-scheduler")
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
