"""Access rules of the /plans routes (mounted with its router, see auth.policy.mount).

Everyone may read plans (a viewer's dashboard shows what is protected and when it runs);
operators and admins create, change and delete them.
"""

from __future__ import annotations

from dockback_gateway.auth.rules import ALL_ROLES, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/plans"): ALL_ROLES,
    ("POST", "/plans"): OPERATORS,
    ("GET", "/plans/schedule-preview"): ALL_ROLES,
    ("GET", "/plans/{plan_id}"): ALL_ROLES,
    ("PUT", "/plans/{plan_id}"): OPERATORS,
    ("DELETE", "/plans/{plan_id}"): OPERATORS,
    ("POST", "/plans/{plan_id}/enable"): OPERATORS,
    ("POST", "/plans/{plan_id}/disable"): OPERATORS,
}
