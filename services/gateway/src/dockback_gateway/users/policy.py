"""Access rules of the /users routes (mounted with its router, see auth.policy.mount)."""

from __future__ import annotations

from dockback_gateway.auth.rules import ADMIN, ALL_ROLES, AUTHENTICATED, SECOND_FACTOR_SETUP, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/users/me"): AUTHENTICATED,
    ("POST", "/users/me/password"): AUTHENTICATED,
    # The second factor: only once the first password has been replaced; setting it up is
    # open to a user the MFA policy sends to enrol (and nothing else is, until then).
    ("GET", "/users/me/mfa"): SECOND_FACTOR_SETUP,
    ("POST", "/users/me/mfa/enrolment"): SECOND_FACTOR_SETUP,
    ("POST", "/users/me/mfa/confirm"): SECOND_FACTOR_SETUP,
    ("POST", "/users/me/mfa/disable"): ALL_ROLES,
    ("POST", "/users/me/mfa/recovery-codes"): ALL_ROLES,
    # Everyone's accounts.
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("GET", "/users/{user_id}"): ADMIN,
    ("PATCH", "/users/{user_id}"): ADMIN,
    ("POST", "/users/{user_id}/password"): ADMIN,
    ("POST", "/users/{user_id}/mfa/reset"): ADMIN,
    ("DELETE", "/users/{user_id}"): ADMIN,
    ("GET", "/users/mfa-policy"): ADMIN,
    ("PUT", "/users/mfa-policy"): ADMIN,
}
