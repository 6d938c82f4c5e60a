"""Who may call what: one table per app, each domain mounting its router together with the
access rows of its routes (`mount`), so auth depends on no domain. A route missing from the
table is refused (and a test walks the OpenAPI document so a new route without a policy
fails the build)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, FastAPI, Request

from dockback_gateway.auth.rules import ADMIN, ALL_ROLES, AUTHENTICATED, OPERATORS, PUBLIC, Rule

Rows = Mapping[tuple[str, str], Rule]
"""Access rows: (method, path as the app routes it) -> rule."""

PolicyTable = dict[tuple[str, str], Rule]

ROWS: Rows = {
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/login/mfa"): PUBLIC,
    ("POST", "/auth/refresh"): PUBLIC,
    ("POST", "/auth/logout"): AUTHENTICATED,
    ("GET", "/auth/permissions"): AUTHENTICATED,
}
"""The /auth routes' own rows."""

__all__ = [
    "ADMIN",
    "ALL_ROLES",
    "AUTHENTICATED",
    "OPERATORS",
    "PUBLIC",
    "ROWS",
    "PolicyTable",
    "Rows",
    "Rule",
    "mount",
    "policy_of",
    "rule_for",
]


def mount(app: FastAPI, router: APIRouter, rows: Rows) -> None:
    """Include a domain's router in `app`, and its access rows in the app's policy table."""
    table = policy_of(app)
    twice = sorted(f"{method} {path}" for method, path in rows.keys() & table.keys())
    if twice:
        raise ValueError(f"access rows given twice: {', '.join(twice)}")
    table.update(rows)
    app.include_router(router)


def policy_of(app: FastAPI) -> PolicyTable:
    """The app's policy table (empty until routers are mounted)."""
    table: PolicyTable | None = getattr(app.state, "policy", None)
    if table is None:
        table = app.state.policy = {}
    return table


def rule_for(request: Request) -> Rule | None:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return policy_of(request.app).get((request.method, path)) if path else None
