"""Entry point of the scheduler.

`dockback-scheduler`, `python -m dockback_scheduler` publishes BackupRequested when plans are due.
"""

from __future__ import annotations

import asyncio
import logging

from dockback_scheduler.app import run
from dockback_scheduler.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
