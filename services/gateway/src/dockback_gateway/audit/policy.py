"""Access rules of the /audit routes (merged into auth.policy.POLICY)."""

from __future__ import annotations

from dockback_gateway.auth.rules import ADMIN, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/audit"): ADMIN,
}
