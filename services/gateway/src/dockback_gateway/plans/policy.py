"""Access rules of the /plans routes (merged into auth.policy.POLICY)."""

from __future__ import annotations

from dockback_gateway.auth.rules import Rule

ROWS: dict[tuple[str, str], Rule] = {}
