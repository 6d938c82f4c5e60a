"""Entry point of the uploader.

`dockback-uploader`, `python -m dockback_uploader`: prunes this host's archives (and, later,
copies them to S3-compatible storage).
"""

from __future__ import annotations

import asyncio
import logging

from dockback_uploader.app import serve
from dockback_uploader.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
