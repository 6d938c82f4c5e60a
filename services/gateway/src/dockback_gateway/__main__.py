"""Entry point of the gateway (`dockback-gateway`, `python -m dockback_gateway`).

dockback-gateway                      serve the API (default)
dockback-gateway migrate              bring the database schema up to date
dockback-gateway audit verify         check the audit log's hash chain (exit 1 when broken)
dockback-gateway settings rotate-key  re-encrypt every stored secret under a new key (stop the gateways first)
dockback-gateway ping                 healthcheck: GET /health on the API port (exit 1 unless 200)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket

import uvicorn
from starlette.types import ASGIApp

from dockback_gateway.config import Settings
from dockback_runtime.collector import keep_out_of_collections
from dockback_runtime.configuration import load_settings
from dockback_runtime.logs import setup_logging
from dockback_runtime.metrics import serve_metrics

COMMANDS = ("serve", "migrate", "audit-verify", "settings-rotate-key", "ping")


def main() -> None:
    parser = argparse.ArgumentParser(prog="dockback-gateway")
    parser.add_argument(
        "command", nargs="*", default=["serve"], help="serve | migrate | audit verify | settings rotate-key | ping"
    )
    args = parser.parse_args()
    args.command = "-".join(args.command)  # "audit verify" and "audit-verify" are the same command
    if args.command not in COMMANDS:
        parser.error(
            f"unknown command {args.command.replace('-', ' ')!r}; one of: serve, migrate, audit verify, "
            "settings rotate-key, ping"
        )
    settings = load_settings(Settings, "dockback-gateway")
    if args.command == "ping":
        from dockback_runtime.health import http_check, run_ping

        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.listen_host, settings.listen_host)  # noqa: S104
        netloc = f"[{host}]" if ":" in host else host
        raise SystemExit(run_ping([http_check(f"http://{netloc}:{settings.listen_port}/health")]))
    setup_logging("gateway", settings.log_level)
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
    serve_metrics()  # on DOCKBACK_METRICS_PORT, never on the public API port
    listening = {"the API": _listen(settings.listen_host, settings.listen_port)}
    app: ASGIApp = api
    if settings.web_port is not None:
        listening["the web UI"] = _listen(settings.listen_host, settings.web_port)
        app = ByPort(api, WebUi(api, settings.web_dir or default_dist()), settings.web_port)
    # Open event streams (the UI's live job view) never end by themselves: close them after a grace period.
    config = uvicorn.Config(app, log_config=None, proxy_headers=False, lifespan="on", timeout_graceful_shutdown=5)
    _Server(config, listening).run(sockets=list(listening.values()))


class _Server(uvicorn.Server):
    """uvicorn on sockets we bound, saying where it listens once the app has started."""

    def __init__(self, config: uvicorn.Config, listening: dict[str, socket.socket]) -> None:
        super().__init__(config)
        self.listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        for what, sock in self.listening.items():
            host, port = sock.getsockname()[:2]
            logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (%s)", host, port, what)
        keep_out_of_collections()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets whose
    # proto says TCP; with Nagle on, every response body waited ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"cannot listen on {host}:{port} ({exc.strerror}): is something else using that port?"
        ) from None
    sock.set_inheritable(True)
    return sock


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
