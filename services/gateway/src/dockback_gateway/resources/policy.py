"""Access rules of the /resources routes (mounted with its router, see auth.policy.mount): everyone may read."""

from __future__ import annotations

from dockback_gateway.auth.rules import ALL_ROLES, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/resources/hosts"): ALL_ROLES,
    ("GET", "/resources/containers"): ALL_ROLES,
    ("GET", "/resources/volumes"): ALL_ROLES,
    ("GET", "/resources/images"): ALL_ROLES,
    ("GET", "/resources/coverage"): ALL_ROLES,
}
