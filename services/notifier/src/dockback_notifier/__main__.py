"""Entry point of the notifier.

`dockback-notifier`, `python -m dockback_notifier` sends alerts.
"""

from __future__ import annotations

import asyncio
import logging

from dockback_notifier.app import serve
from dockback_notifier.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
