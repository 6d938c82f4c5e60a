"""Entry point of the uploader.

`dockback-uploader`, `python -m dockback_uploader`: prunes this host's archives (and, later,
copies them to S3-compatible storage).
`dockback-uploader ping` is the container healthcheck (exit 0 when NATS answers).
"""

from __future__ import annotations

import asyncio
import sys

from dockback_runtime.configuration import load_settings
from dockback_runtime.health import nats_check, run_ping
from dockback_runtime.logs import setup_logging
from dockback_runtime.metrics import serve_metrics
from dockback_uploader.app import serve
from dockback_uploader.settings import Settings


def main() -> None:
    settings = load_settings(Settings, "dockback-uploader")
    if sys.argv[1:] == ["ping"]:
        raise SystemExit(ping(settings))
    setup_logging("uploader", settings.log_level, host_id=settings.host_id)
    serve_metrics()
    asyncio.run(serve(settings))


def ping(settings: Settings) -> int:
    """`dockback-uploader ping`: exit 0 when NATS answers with this service's settings and credentials."""
    return run_ping([nats_check(settings, "dockback-uploader-ping")])


if __name__ == "__main__":
    main()
