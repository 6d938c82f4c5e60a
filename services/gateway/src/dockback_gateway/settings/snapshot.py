"""The settings snapshot the uploader and notifier read from the settings KV bucket.

Built from the committed database state, its secrets decrypted from rest and sealed with
the settings key (each bound to its name, see `ciphertexts`). Published after every change
has committed, and at start. Several gateways may publish at once: a snapshot never
replaces one with a higher revision.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import snapshots
from dockback_contracts.sealed import SealedSecret, seal
from dockback_contracts.snapshots import SMTP_PASSWORD, target_secret, webhook_signing_secret, webhook_url
from dockback_contracts.streams import SETTINGS_BUCKET
from dockback_gateway.db import after_commit
from dockback_gateway.keys import Cipher, KeyProblem
from dockback_gateway.kv import revision_of
from dockback_gateway.settings.repository import SettingsRepository, StoredSettings

log = logging.getLogger(__name__)

SNAPSHOT_KEY = snapshots.SETTINGS_SNAPSHOT_KEY
_PUBLISH_AFTER_COMMIT = "settings snapshot"
_PUT_ATTEMPTS = 10
_DRAIN_SECONDS = 10.0


def build_snapshot(
    stored: StoredSettings, cipher: Cipher, settings_key: bytes, default_ui_base_url: str
) -> snapshots.SettingsSnapshot:
    """The snapshot of `stored`. Raises KeyProblem, naming the value, when a secret does not decrypt."""

    def sealed(blob: bytes, name: str) -> SealedSecret:
        return seal(settings_key, name, cipher.decrypt(blob, name).decode())

    smtp = stored.smtp
    defaults = stored.defaults
    return snapshots.SettingsSnapshot(
        revision=stored.revision.revision,
        targets=tuple(
            snapshots.S3Target(
                target_id=t.target_id,
                endpoint=t.endpoint,
                secure=t.secure,
                region=t.region,
                bucket=t.bucket,
                prefix=t.prefix,
                access_key=sealed(t.access_key, target_secret(t.target_id, "access_key")),
                secret_key=sealed(t.secret_key, target_secret(t.target_id, "secret_key")),
                part_size_bytes=t.part_size_bytes,
                verify_full_read=t.verify_full_read,
            )
            for t in stored.targets
        ),
        smtp=None
        if smtp is None
        else snapshots.SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=None if smtp.password is None else sealed(smtp.password, SMTP_PASSWORD),
            from_address=smtp.from_address,
            recipients=tuple(smtp.recipients),
            succeeded_digest=smtp.succeeded_digest,
        ),
        webhooks=tuple(
            snapshots.Webhook(
                webhook_id=w.webhook_id,
                url=sealed(_stored(w.url, webhook_url(w.webhook_id)), webhook_url(w.webhook_id)),
                signing_secret=None
                if w.signing_secret is None
                else sealed(w.signing_secret, webhook_signing_secret(w.webhook_id)),
                slack_format=w.slack_format,
                succeeded_digest=w.succeeded_digest,
            )
            for w in stored.webhooks
        ),
        ui_base_url=(defaults.ui_base_url if defaults else None) or default_ui_base_url,
        updated_at=stored.revision.updated_at,
    )


def _stored(blob: bytes | None, name: str) -> bytes:
    if blob is None:  # only a URL stored in clear before migration 0011, which the start encrypts first
        raise KeyProblem(f"{name} is not encrypted yet: start the gateway to encrypt it")
    return blob


class SnapshotPublisher:
    """Publishes the current settings snapshot into the settings KV bucket."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: Cipher,
        settings_key: bytes,
        js: JetStreamContext,
        default_ui_base_url: str,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._settings_key = settings_key
        self._js = js
        self._default_ui_base_url = default_ui_base_url
        self._in_flight: set[asyncio.Task[None]] = set()

    async def publish(self) -> snapshots.SettingsSnapshot:
        """Read the committed settings (one consistent view), seal, and put them under `current`."""
        async with self._sessions() as db:
            await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            stored = await SettingsRepository(db).read_all()
        snapshot = build_snapshot(stored, self._cipher, self._settings_key, self._default_ui_base_url)
        await self._put(snapshot)
        return snapshot

    async def _put(self, snapshot: snapshots.SettingsSnapshot) -> None:
        kv = await self._js.key_value(SETTINGS_BUCKET)
        payload = snapshot.model_dump_json().encode()
        for _ in range(_PUT_ATTEMPTS):
            try:
                entry = await kv.get(SNAPSHOT_KEY)
            except KeyNotFoundError:
                entry = None
            if entry is not None and revision_of(entry.value) > snapshot.revision:
                return  # another gateway already published a newer revision
            try:
                if entry is None:
                    await kv.create(SNAPSHOT_KEY, payload)
                else:
                    await kv.update(SNAPSHOT_KEY, payload, last=entry.revision)
            except KeyWrongLastSequenceError:
                continue  # someone published in between: compare with theirs
            return
        raise RuntimeError(f"the settings snapshot kept changing under us ({_PUT_ATTEMPTS} attempts)")

    async def publish_or_log(self) -> None:
        """Publish; a failure is logged (the previous snapshot stays) and never raised."""
        try:
            snapshot = await self.publish()
        except KeyProblem as exc:
            log.error("settings snapshot not published, the previous one stays: %s; set that secret again", exc)
        except Exception:
            log.exception("settings snapshot not published, the previous one stays")
        else:
            log.info("published settings snapshot revision %d", snapshot.revision)

    def publish_after_commit(self, db: AsyncSession) -> None:
        """Publish once `db`'s transaction has committed (in the background, once however many
        changes it made); never if it rolls back."""
        after_commit(db, self._publish_in_background, key=_PUBLISH_AFTER_COMMIT)

    def _publish_in_background(self) -> None:
        task = asyncio.get_running_loop().create_task(self.publish_or_log())
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def drain(self) -> None:
        """Wait for the publications in flight (at shutdown; tests use it too)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=_DRAIN_SECONDS)
