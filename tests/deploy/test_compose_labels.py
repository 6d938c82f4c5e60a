"""Every container DockBack's compose files start says it is DockBack's own
(`dockback.service=<name>`): the executor never runs a hook in one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockback_executor.consistency import SERVICE_LABEL

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.parametrize("compose_file", ["compose.yaml", "compose.agent.yaml"])
def test_every_service_is_labelled_as_dockbacks_own(compose_file: str) -> None:
    services = yaml.safe_load((DEPLOY / compose_file).read_text())["services"]
    assert services
    assert {name: (s.get("labels") or {}).get(SERVICE_LABEL) for name, s in services.items()} == {
        name: name for name in services
    }
