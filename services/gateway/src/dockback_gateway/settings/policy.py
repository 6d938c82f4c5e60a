"""Access rules of the /settings routes (mounted with its router, see auth.policy.mount).

Admins change settings. Operators may read them (they choose upload targets for plans);
viewers may not: settings show where every backup is kept and who is alerted, which a
read-only account has no need to know. Secret values are never readable by anyone.
"""

from __future__ import annotations

from dockback_gateway.auth.rules import ADMIN, OPERATORS, Rule

ROWS: dict[tuple[str, str], Rule] = {
    ("GET", "/settings"): OPERATORS,
    ("POST", "/settings/targets"): ADMIN,
    ("PUT", "/settings/targets/{target_id}"): ADMIN,
    ("DELETE", "/settings/targets/{target_id}"): ADMIN,
    ("PUT", "/settings/smtp"): ADMIN,
    ("DELETE", "/settings/smtp"): ADMIN,
    ("POST", "/settings/webhooks"): ADMIN,
    ("PUT", "/settings/webhooks/{webhook_id}"): ADMIN,
    ("DELETE", "/settings/webhooks/{webhook_id}"): ADMIN,
    ("PUT", "/settings/defaults"): ADMIN,
    # Checks reach out with the stored credentials and send test alerts: admins, like the settings.
    ("POST", "/settings/targets/{target_id}/test"): ADMIN,
    ("POST", "/settings/targets/test"): ADMIN,
    ("POST", "/settings/smtp/test"): ADMIN,
    ("POST", "/settings/webhooks/{webhook_id}/test"): ADMIN,
    ("POST", "/settings/webhooks/test"): ADMIN,
}
