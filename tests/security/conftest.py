"""Attacks on DockBack's trust boundaries, each run against the real services (the real
nats-server with the credentials `dockback-nats-auth` generates, the real dockerd, the real
gateway) and shown to fail. One file per boundary, named after the attack it performs.

The fixtures are the ones the other suites use: the gateway in-process on a migrated database
(`gateway`), the executor's services on the local engine (`host`, `heard`, `start_executor`),
the whole host as processes (`services`), and the secured nats-server (`secured_nats`,
`gateway_connection`, `host_services`, from the harness).
"""

from e2e.conftest import services  # noqa: F401 - the fixture
from executor.conftest import engine, engine_proxy, heard, host, start_executor  # noqa: F401 - the fixtures
from gateway.conftest import gateway, gateway_settings  # noqa: F401 - the fixtures
