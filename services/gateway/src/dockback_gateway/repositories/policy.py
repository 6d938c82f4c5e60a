"""Access rules of the /repositories routes (mounted with its router, see auth.policy.mount).

Operators see which repositories exist (they choose a plan's format). Only an admin exports a
recovery sheet: it holds the repository's password, which opens every snapshot in it.
"""

from __future__ import annotations

from dockback_gateway.auth.rules import ADMIN, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/repositories"): OPERATORS,
    ("POST", "/repositories/{host_id}/{name}/recovery-sheet"): ADMIN,
}
