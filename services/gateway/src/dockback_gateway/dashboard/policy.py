"""Access rules of the /dashboard route (mounted with its router, see auth.policy.mount): everyone may read."""

from __future__ import annotations

from dockback_gateway.auth.rules import ALL_ROLES, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/dashboard"): ALL_ROLES,
}
