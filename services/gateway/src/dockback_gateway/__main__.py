"""Entry point of the gateway (`dockback-gateway`, `python -m dockback_gateway`).

dockback-gateway                      serve the API (default)
dockback-gateway migrate              bring the database schema up to date
dockback-gateway audit verify         check the audit log's hash chain (exit 1 when broken)
dockback-gateway settings rotate-key  re-encrypt every stored secret under a new key (stop the gateways first)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket

import uvicorn

from dockback_gateway.settings import Settings

COMMANDS = ("serve", "migrate", "audit-verify", "settings-rotate-key")


def main() -> None:
    parser = argparse.ArgumentParser(prog="dockback-gateway")
    parser.add_argument(
        "command", nargs="*", default=["serve"], help="serve | migrate | audit verify | settings rotate-key"
    )
    args = parser.parse_args()
    args.command = "-".join(args.command)  # "audit verify" and "audit-verify" are the same command
    if args.command not in COMMANDS:
        parser.error(
            f"unknown command {args.command.replace('-', ' ')!r}; one of: serve, migrate, audit verify, "
            "settings rotate-key"
        )
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "migrate":
        from dockback_gateway.migrate import upgrade

        upgrade(settings.database_url.get_secret_value())
        logging.getLogger("dockback_gateway").info("database schema is up to date")
        return
    if args.command == "audit-verify":
        raise SystemExit(asyncio.run(_audit_verify(settings)))
    if args.command == "settings-rotate-key":
        from dockback_gateway.settings.cli import rotate_encryption_key

        raise SystemExit(asyncio.run(rotate_encryption_key(settings)))
    _serve(settings)


def _serve(settings: Settings) -> None:
    """The API on listen_port and, when web_port is set, the web UI there: one server, one app
    (one lifespan, one database pool, one NATS connection) routing by port."""
    from dockback_gateway.app import create_app
    from dockback_gateway.web import ByPort, WebUi, default_dist

    api = create_app(settings)
    sockets = [_listen(settings.listen_host, settings.listen_port)]
    app: object = api
    if settings.web_port is not None:
        sockets.append(_listen(settings.listen_host, settings.web_port))
        app = ByPort(api, WebUi(api, settings.web_dir or default_dist()), settings.web_port)
    config = uvicorn.Config(app, log_config=None, proxy_headers=False, lifespan="on")
    uvicorn.Server(config).run(sockets=sockets)


def _listen(host: str, port: int) -> socket.socket:
    try:
        return uvicorn.Config(app=None, host=host, port=port).bind_socket()
    except SystemExit:
        raise SystemExit(
            f"cannot listen on {host}:{port}: is another DockBack (or anything) using that port?"
        ) from None


async def _audit_verify(settings: Settings) -> int:
    from dockback_gateway.audit.service import verify_chain
    from dockback_gateway.db import make_engine, make_sessions

    engine = make_engine(settings.database_url.get_secret_value())
    try:
        async with make_sessions(engine)() as session:
            report = await verify_chain(session)
    finally:
        await engine.dispose()
    if report.intact:
        print(f"audit log intact: {report.rows} rows")
        return 0
    print(f"audit log TAMPERED: row {report.first_broken_id} does not match the chain ({report.rows} rows before it)")
    return 1


if __name__ == "__main__":
    main()
