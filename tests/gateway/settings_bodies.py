"""Settings as a test stores them (an S3 target, the SMTP server, a webhook), each with a
canary secret that must never show up in clear, and the settings snapshot the gateway
publishes of them."""

from __future__ import annotations

from dockback_contracts.snapshots import SettingsSnapshot
from dockback_contracts.streams import SETTINGS_BUCKET
from dockback_gateway.settings.snapshot import SNAPSHOT_KEY
from gateway.conftest import Gateway

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


async def published_snapshot(gateway: Gateway) -> tuple[bytes, SettingsSnapshot]:
    await gateway.app.state.settings_publisher.drain()
    kv = await gateway.app.state.broker.connection.jetstream().key_value(SETTINGS_BUCKET)
    raw = (await kv.get(SNAPSHOT_KEY)).value
    return raw, SettingsSnapshot.model_validate_json(raw)
