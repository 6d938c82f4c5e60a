"""Entry point of the gateway (`dockback-gateway`, `python -m dockback_gateway`): serves the API."""

from __future__ import annotations

import logging

import uvicorn

from dockback_gateway.app import create_app
from dockback_gateway.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.listen_host, port=settings.listen_port, log_config=None)


if __name__ == "__main__":
    main()
