"""An operator (or anyone who reads the settings, an admin included) tries to read a webhook's
URL: a Slack-style URL carries its token in the path, so it is a credential. The real gateway
keeps it write-only: the API, the audit log and the settings snapshot on the bus show at most
its host name, and the database holds it encrypted."""

from __future__ import annotations

from gateway.audited_callers import logged_in_as
from gateway.conftest import NOTIFIER_KEY, Gateway, logged_in_admin
from gateway.settings_bodies import published_snapshot
from sqlalchemy import select, text

from dockback_contracts.sealed import unseal
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.users.models import Role

TOKEN = "T0CANARY/B0CANARY/xoxbCanaryToken4f9e"
URL = f"https://hooks.slack.example/services/{TOKEN}"
NEW_TOKEN = "T1CANARY/B1CANARY/xoxbOtherToken7a21"


async def test_an_operator_reads_a_webhook_url(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        created = await admin.post("/settings/webhooks", json={"webhook_id": "chat", "url": URL, "slack_format": True})
        replaced = await admin.put(
            "/settings/webhooks/chat", json={"url": URL.replace(TOKEN, NEW_TOKEN), "slack_format": True}
        )
        kept = await admin.put("/settings/webhooks/chat", json={"slack_format": False})
        admin_view = await admin.get("/settings")
    async with logged_in_as(gateway, "ops", Role.OPERATOR) as operator:
        operator_view = await operator.get("/settings")

    assert [r.status_code for r in (created, replaced, kept, admin_view, operator_view)] == [201, 200, 200, 200, 200]
    for view in (admin_view, operator_view):
        (webhook,) = view.json()["webhooks"]
        assert webhook["url"] == {"set": True}
        assert webhook["url_host"] == "hooks.slack.example"
    raw, snapshot = await published_snapshot(gateway)
    async with gateway.app.state.sessions() as db:
        audit = [repr(vars(e)) for e in await db.scalars(select(AuditEntry))]
        stored = (await db.execute(text("SELECT url, url_plaintext FROM settings_webhooks"))).one()
    seen = [r.text for r in (created, replaced, kept, admin_view, operator_view)] + audit + [raw.decode()]
    for token in (TOKEN, NEW_TOKEN, "xoxb"):
        assert not any(token in text_ for text_ in seen), f"{token} leaked"
    assert stored.url_plaintext is None
    assert NEW_TOKEN.encode() not in bytes(stored.url)
    # the notifier (its own sealing key) still gets the URL the admin set last
    assert unseal(NOTIFIER_KEY, "settings.webhooks.chat.url", snapshot.webhooks[0].url) == URL.replace(TOKEN, NEW_TOKEN)
