"""Entry point of the uploader.

`dockback-uploader`, `python -m dockback_uploader`: prunes this host's archives (and, later,
copies them to S3-compatible storage).
`dockback-uploader ping` is the container healthcheck (exit 0 when NATS answers).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from dockback_contracts.health import nats_check, run_ping
from dockback_uploader.app import serve
from dockback_uploader.settings import Settings


def main() -> None:
    settings = Settings()
    if sys.argv[1:] == ["ping"]:
        raise SystemExit(ping(settings))
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))


def ping(settings: Settings) -> int:
    """`dockback-uploader ping`: exit 0 when NATS answers with this service's settings and credentials."""
    servers = settings.nats_url.split(",")
    return run_ping([nats_check(servers, settings.nats_credentials_file, "dockback-uploader-ping")])


if __name__ == "__main__":
    main()
