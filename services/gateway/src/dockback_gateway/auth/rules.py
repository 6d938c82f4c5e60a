"""The kinds of rule a route can have in the access policy."""

from __future__ import annotations

from dockback_gateway.users.models import Role

PUBLIC = "public"
AUTHENTICATED = "authenticated"  # any logged-in user, even one who must change the password first
ALL_ROLES: frozenset[Role] = frozenset(Role)
ADMIN: frozenset[Role] = frozenset({Role.ADMIN})
OPERATORS: frozenset[Role] = frozenset({Role.ADMIN, Role.OPERATOR})

Rule = str | frozenset[Role]
