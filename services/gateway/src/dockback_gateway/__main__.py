"""Entry point of the gateway (`dockback-gateway`, `python -m dockback_gateway`).

dockback-gateway            serve the API (default)
dockback-gateway migrate    bring the database schema up to date
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from dockback_gateway.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="dockback-gateway")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args()
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "migrate":
        from dockback_gateway.migrate import upgrade

        upgrade(settings.database_url.get_secret_value())
        logging.getLogger("dockback_gateway").info("database schema is up to date")
        return
    from dockback_gateway.app import create_app

    uvicorn.run(
        create_app(settings), host=settings.listen_host, port=settings.listen_port, log_config=None, proxy_headers=False
    )


if __name__ == "__main__":
    main()
