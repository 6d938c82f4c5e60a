"""Someone who reaches the NATS port of deploy/compose.yaml connects without credentials: refused.

compose.yaml is read as compose reads it (YAML anchors and merge keys): NATS starts with
nats-server-auth.conf after the one-shot nats-auth service, and every service connects with its
own credentials from a volume only it mounts. Then the real nats-server runs that configuration
(deploy/nats/*.conf, the listen, monitoring and JetStream paths moved to this test's own) with
the auth.conf `dockback-nats-install` writes, as the nats-auth service does. Before, compose.yaml
started nats-server.conf alone, which has no authorization block.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml

from dockback_ops.nats_install import SERVICES, install
from dockback_runtime.connection import NatsClientSettings, connect_options
from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CREDS_MOUNT = "/run/dockback-nats"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_nats_starts_with_the_generated_users_and_every_service_with_its_own_credentials() -> None:
    services = compose()["services"]
    nats_service, init = services["nats"], services["nats-auth"]
    assert nats_service["command"] == ["-c", "/etc/nats/nats-server-auth.conf"]
    assert "nats-server-auth:/etc/nats-auth:ro" in nats_service["volumes"]
    assert nats_service["depends_on"]["nats-auth"] == {"condition": "service_completed_successfully"}
    assert init["restart"] == "no"
    assert init["network_mode"] == "none"
    assert "nats-server-auth:/out/server" in init["volumes"]
    clients = {name for name, service in services.items() if "DOCKBACK_NATS_URL" in service.get("environment", {})}
    assert clients == set(SERVICES)
    for name in clients:
        service = services[name]
        assert service["environment"]["DOCKBACK_NATS_CREDENTIALS_FILE"] == f"{CREDS_MOUNT}/nats.creds"
        assert f"nats-creds-{name}:{CREDS_MOUNT}:ro" in service["volumes"]
        assert f"nats-creds-{name}:/out/{name}" in init["volumes"]
        mounted_by = {
            o for o, other in services.items() for v in other.get("volumes", []) if v.startswith(f"nats-creds-{name}:")
        }
        assert mounted_by == {name, "nats-auth"}


def test_the_server_configs_have_no_anonymous_user() -> None:
    included = (DEPLOY / "nats" / "nats-server-auth.conf").read_text()
    assert "include ./nats-server.conf" in included
    assert "include ../nats-auth/auth.conf" in included
    for conf in (DEPLOY / "nats").glob("*.conf"):
        assert "no_auth_user" not in conf.read_text()


@pytest.fixture
def compose_nats(tmp_path: Path) -> Iterator[tuple[str, dict[str, Path], Path]]:
    """nats-server with compose's config and the nats-auth service's output (plus host h2, exported)."""
    etc = tmp_path / "etc"
    shutil.copytree(DEPLOY / "nats", etc / "nats", ignore=shutil.ignore_patterns("auth.conf", ".gitignore"))
    port = free_port()
    base = etc / "nats" / "nats-server.conf"
    text = base.read_text()
    for old, new in (
        ("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}"),
        ("http: 0.0.0.0:8222", f"http: 127.0.0.1:{free_port()}"),
        ("store_dir: /var/lib/nats/jetstream", f'store_dir: "{tmp_path / "jetstream"}"'),
    ):
        assert old in text, f"{base.name} no longer says {old!r}: update this test"
        text = text.replace(old, new)
    base.write_text(text)
    out, exported = tmp_path / "out", tmp_path / "agent-h2"
    installed = install(tmp_path / "store", out, "main", agent="h2", export=exported)
    (etc / "nats-auth").symlink_to(out / "server")  # the nats-server-auth volume at /etc/nats-auth
    process = start_and_wait(
        [nats_server_binary(), "-c", str(etc / "nats" / "nats-server-auth.conf")],
        ready_marker="Server is ready",
        log_path=tmp_path / "nats.log",
    )
    try:
        yield f"nats://127.0.0.1:{port}", installed, exported
    finally:
        stop(process)


async def test_an_anonymous_client_is_refused_and_each_service_gets_in(
    compose_nats: tuple[str, dict[str, Path], Path],
) -> None:
    url, installed, exported = compose_nats
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5)

    for creds in [*installed.values(), exported / "executor.creds", exported / "uploader.creds"]:
        settings = NatsClientSettings(nats_url=url, nats_credentials_file=creds)
        client = await nats.connect(**connect_options(settings), allow_reconnect=False)
        await client.flush()
        await client.close()
