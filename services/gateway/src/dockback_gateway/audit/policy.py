"""Access rules of the /audit routes (mounted with its router, see auth.policy.mount)."""

from __future__ import annotations

from dockback_gateway.auth.rules import ADMIN, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/audit"): ADMIN,
    ("GET", "/audit/export.csv"): ADMIN,
}
