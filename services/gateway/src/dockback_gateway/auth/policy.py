"""Who may call what: one table for every route, each domain contributing its rows. A route
missing here is refused (and a test walks the OpenAPI document so a new route without a
policy fails the build)."""

from __future__ import annotations

from fastapi import Request

from dockback_gateway.audit.policy import ROWS as AUDIT_ROWS
from dockback_gateway.auth.rules import ADMIN, ALL_ROLES, AUTHENTICATED, OPERATORS, PUBLIC, Rule
from dockback_gateway.catalog.policy import ROWS as CATALOG_ROWS
from dockback_gateway.dashboard.policy import ROWS as DASHBOARD_ROWS
from dockback_gateway.jobs.policy import ROWS as JOBS_ROWS
from dockback_gateway.plans.policy import ROWS as PLANS_ROWS
from dockback_gateway.resources.policy import ROWS as RESOURCES_ROWS
from dockback_gateway.restores.policy import ROWS as RESTORES_ROWS
from dockback_gateway.settings.policy import ROWS as SETTINGS_ROWS
from dockback_gateway.users.policy import ROWS as USERS_ROWS

POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): PUBLIC,
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/login/mfa"): PUBLIC,
    ("POST", "/auth/refresh"): PUBLIC,
    ("POST", "/auth/logout"): AUTHENTICATED,
    ("GET", "/auth/permissions"): AUTHENTICATED,
    **USERS_ROWS,
    **AUDIT_ROWS,
    **SETTINGS_ROWS,
    **PLANS_ROWS,
    **RESOURCES_ROWS,
    **JOBS_ROWS,
    **CATALOG_ROWS,
    **RESTORES_ROWS,
    **DASHBOARD_ROWS,
}

__all__ = ["ADMIN", "ALL_ROLES", "AUTHENTICATED", "OPERATORS", "POLICY", "PUBLIC", "Rule", "rule_for"]


def rule_for(request: Request) -> Rule | None:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return POLICY.get((request.method, path)) if path else None
