"""Entry point of the executor.

`dockback-executor`, `python -m dockback_executor`: backs up and restores on this Docker host.
"""

from __future__ import annotations

import asyncio
import logging

from dockback_executor.app import serve
from dockback_executor.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
