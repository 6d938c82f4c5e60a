"""Access rules of the /jobs routes (mounted with its router, see auth.policy.mount): everyone reads, operators
and admins run and cancel."""

from __future__ import annotations

from dockback_gateway.auth.rules import ALL_ROLES, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/jobs"): ALL_ROLES,
    ("GET", "/jobs/events"): ALL_ROLES,
    ("GET", "/jobs/{job_id}"): ALL_ROLES,
    ("POST", "/jobs"): OPERATORS,
    ("POST", "/jobs/{job_id}/cancel"): OPERATORS,
}
