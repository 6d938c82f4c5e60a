"""Access rules of the /dashboard routes (mounted with its router, see auth.policy.mount): everyone may read,
operators and admins acknowledge what needs attention."""

from __future__ import annotations

from dockback_gateway.auth.rules import ALL_ROLES, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/dashboard"): ALL_ROLES,
    ("POST", "/dashboard/attention/acknowledgements"): OPERATORS,
    ("DELETE", "/dashboard/attention/acknowledgements"): OPERATORS,
}
