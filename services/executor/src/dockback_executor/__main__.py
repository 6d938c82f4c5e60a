"""Entry point of the executor.

`dockback-executor`, `python -m dockback_executor`: backs up and restores on this Docker host.
`dockback-executor ping` is the container healthcheck (exit 0 when NATS and the engine answer).
"""

from __future__ import annotations

import asyncio
import sys

from dockback_executor.app import serve
from dockback_executor.settings import Settings
from dockback_runtime.configuration import load_settings
from dockback_runtime.health import PingFailed, nats_check, run_ping
from dockback_runtime.logs import setup_logging
from dockback_runtime.metrics import serve_metrics


def main() -> None:
    settings = load_settings(Settings, "dockback-executor")
    if sys.argv[1:] == ["ping"]:
        raise SystemExit(ping(settings))
    setup_logging("executor", settings.log_level, host_id=settings.host_id)
    serve_metrics()
    asyncio.run(serve(settings))


def ping(settings: Settings) -> int:
    """`dockback-executor ping`: exit 0 when NATS (own credentials) and the Docker engine answer."""
    from dockback_executor.docker_api import DockerEngine

    async def engine() -> str:
        docker = DockerEngine(settings.docker_url)
        try:
            version = await docker.version()
        except Exception as exc:  # one line for the healthcheck
            raise PingFailed(f"Docker engine: {exc}") from None
        finally:
            await docker.close()
        return f"Docker engine {version.get('Version', '?')}"

    return run_ping([nats_check(settings, "dockback-executor-ping"), engine])


if __name__ == "__main__":
    main()
