"""The kinds of rule a route can have in the access policy."""

from __future__ import annotations

from dockback_gateway.users.models import Role

PUBLIC = "public"
AUTHENTICATED = "authenticated"  # any logged-in user, even one who must change the password first
ALL_ROLES: frozenset[Role] = frozenset(Role)
ADMIN: frozenset[Role] = frozenset({Role.ADMIN})
OPERATORS: frozenset[Role] = frozenset({Role.ADMIN, Role.OPERATOR})


class SecondFactorSetup(frozenset[Role]):
    """Every role, and usable before the second factor the MFA policy requires is set up (the
    routes that set it up); any other route refuses such a user until then."""


SECOND_FACTOR_SETUP: frozenset[Role] = SecondFactorSetup(Role)

Rule = str | frozenset[Role]
