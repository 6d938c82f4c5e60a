"""Entry point of the notifier.

`dockback-notifier`, `python -m dockback_notifier` sends alerts.
`dockback-notifier ping` is the container healthcheck (exit 0 when NATS answers).
"""

from __future__ import annotations

import asyncio
import sys

from dockback_notifier.app import serve
from dockback_notifier.settings import Settings
from dockback_runtime.configuration import load_settings
from dockback_runtime.health import nats_check, run_ping
from dockback_runtime.logs import setup_logging
from dockback_runtime.metrics import serve_metrics


def main() -> None:
    settings = load_settings(Settings, "dockback-notifier")
    if sys.argv[1:] == ["ping"]:
        raise SystemExit(ping(settings))
    setup_logging("notifier", settings.log_level)
    serve_metrics()
    asyncio.run(serve(settings))


def ping(settings: Settings) -> int:
    """`dockback-notifier ping`: exit 0 when NATS answers with this service's settings and credentials."""
    return run_ping([nats_check(settings, "dockback-notifier-ping")])


if __name__ == "__main__":
    main()
