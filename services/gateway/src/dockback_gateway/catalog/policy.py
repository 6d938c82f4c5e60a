"""Access rules of the /artifacts routes (mounted with its router, see auth.policy.mount).

Everyone may read the catalog and preview retention (a dry run changes nothing);
operators and admins may start a check, which puts work on a host, delete a backup, and browse
and download a snapshot's files.
"""

from __future__ import annotations

from dockback_gateway.auth.rules import ALL_ROLES, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/artifacts"): ALL_ROLES,
    ("GET", "/artifacts/{artifact_id}"): ALL_ROLES,
    ("POST", "/artifacts/retention-preview"): ALL_ROLES,
    ("POST", "/artifacts/{artifact_id}/verify"): OPERATORS,
    ("DELETE", "/artifacts/{artifact_id}"): OPERATORS,
    # The names in a snapshot can say more than a viewer needs (as a restore preview would):
    # browsing is for those who may restore.
    ("GET", "/artifacts/{artifact_id}/tree"): OPERATORS,
    # A download hands out the data itself, as a restore writes it: for those who may restore.
    ("GET", "/artifacts/{artifact_id}/download"): OPERATORS,
}
