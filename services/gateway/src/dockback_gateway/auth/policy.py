"""Who may call what: one table for every route. A route missing here is refused (and a test
walks the OpenAPI document so a new route without a policy fails the build)."""

from __future__ import annotations

from fastapi import Request

from dockback_gateway.users.models import Role

PUBLIC = "public"
AUTHENTICATED = "authenticated"  # any logged-in user, even one who must change the password first
ALL_ROLES = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
OPERATORS = frozenset({Role.ADMIN, Role.OPERATOR})

Rule = str | frozenset[Role]

POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): PUBLIC,
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/login/mfa"): PUBLIC,
    ("POST", "/auth/refresh"): PUBLIC,
    ("POST", "/auth/logout"): AUTHENTICATED,
    ("GET", "/users/me"): AUTHENTICATED,
    ("POST", "/users/me/password"): AUTHENTICATED,
}


def rule_for(request: Request) -> Rule | None:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return POLICY.get((request.method, path)) if path else None
