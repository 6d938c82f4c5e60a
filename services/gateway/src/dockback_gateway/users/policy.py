"""Access rules of the /users routes (merged into auth.policy.POLICY)."""

from __future__ import annotations

from dockback_gateway.auth.rules import AUTHENTICATED, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/users/me"): AUTHENTICATED,
    ("POST", "/users/me/password"): AUTHENTICATED,
}
