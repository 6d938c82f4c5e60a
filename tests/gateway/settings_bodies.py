"""Settings as a test stores them (an S3 target, the SMTP server, a webhook), each with a
canary secret that must never show up in clear, and the settings snapshot the gateway
publishes of them."""

from __future__ import annotations

from dockback_contracts.snapshots import NOTIFIER_SETTINGS_KEY, SettingsSnapshot, host_settings_key
from dockback_contracts.streams import SETTINGS_BUCKET
from gateway.conftest import HOST_ID, Gateway

CANARY = {
    "access_key": "canary-access-key-7f3a91",
    "secret_key": "canary-secret-key-9b1c27",
    "password": "canary-smtp-password-2d4e85",
    "signing_secret": "canary-webhook-signing-5e6f03",
}
TARGET = {
    "target_id": "offsite",
    "endpoint": "s3.example.net:9000",
    "bucket": "dockback-archives",
    "prefix": "host-a/",
    "access_key": CANARY["access_key"],
    "secret_key": CANARY["secret_key"],
}
SMTP = {
    "host": "mail.example.net",
    "port": 587,
    "security": "starttls",
    "username": "alerts",
    "password": CANARY["password"],
    "from_address": "dockback@example.net",
    "recipients": ["ops@example.net"],
}
WEBHOOK = {
    "webhook_id": "chat",
    "url": "https://hooks.example.net/dockback",
    "signing_secret": CANARY["signing_secret"],
}


async def published_snapshots(gateway: Gateway) -> tuple[SettingsSnapshot, SettingsSnapshot]:
    """The host's snapshot (sealed to HOST_KEY) and the notifier's (sealed to NOTIFIER_KEY)."""
    await gateway.app.state.settings_publisher.drain()
    kv = await gateway.app.state.broker.connection.jetstream().key_value(SETTINGS_BUCKET)
    host = SettingsSnapshot.model_validate_json((await kv.get(host_settings_key(HOST_ID))).value or b"")
    notifier = SettingsSnapshot.model_validate_json((await kv.get(NOTIFIER_SETTINGS_KEY)).value or b"")
    return host, notifier


async def published_snapshot(gateway: Gateway) -> tuple[bytes, SettingsSnapshot]:
    """Both published snapshots, raw, and as one: the host's targets with the notifier's mail and
    webhooks (each part sealed to its own recipient's key)."""
    host, notifier = await published_snapshots(gateway)
    raw = host.model_dump_json().encode() + notifier.model_dump_json().encode()
    return raw, host.model_copy(update={"smtp": notifier.smtp, "webhooks": notifier.webhooks})
