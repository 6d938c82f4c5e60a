"""Access rules of the /restores routes (mounted with its router, see auth.policy.mount).

A restore overwrites data: operators and admins may preview and confirm one. Everyone may
see whether restores are locked; only admins set or lift the lock.
"""

from __future__ import annotations

from dockback_gateway.auth.rules import ADMIN, ALL_ROLES, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("POST", "/restores/preview"): OPERATORS,
    ("POST", "/restores"): OPERATORS,
    ("GET", "/restores/lock"): ALL_ROLES,
    ("PUT", "/restores/lock"): ADMIN,
}
