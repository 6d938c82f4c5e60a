"""Who the gateway seals settings to: every registration in the sealing keys bucket
(dockback_gateway.settings.snapshot.registered_recipients), read from the stream's subjects."""

from __future__ import annotations

import nats
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from dockback_contracts import snapshots
from dockback_contracts.sealed import public_key_text
from dockback_contracts.streams import SEALING_KEYS_BUCKET
from dockback_gateway.settings.snapshot import registered_recipients
from dockback_gateway.streams import declare_streams
from dockback_runtime.sealing import register_sealing_key


async def test_every_valid_registration_is_found_and_no_other(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await declare_streams(js)
        keys = {role: X25519PrivateKey.generate() for role in ("notifier", "uploader-host-a", "uploader-host-b")}
        for role, key in keys.items():
            await register_sealing_key(js, role, key)
        bucket = await js.key_value(SEALING_KEYS_BUCKET)
        await bucket.put("uploader-host-c", b"not a registration")
        await register_sealing_key(js, "uploader-host-d", X25519PrivateKey.generate())
        await bucket.delete("uploader-host-d")  # a removed host

        expected = {(role, public_key_text(key)) for role, key in keys.items()}
        found = await registered_recipients(js)
        assert {(r.role, r.public_key) for r in found} == expected
        assert {r.snapshot_key for r in found} == {
            snapshots.NOTIFIER_SETTINGS_KEY,
            snapshots.host_settings_key("host-a"),
            snapshots.host_settings_key("host-b"),
        }
    finally:
        await nc.close()
