"""The settings snapshots the uploaders and the notifier read from the settings KV bucket.

Built from the committed database state, once per recipient that registered a sealing key in the
sealing keys bucket (`dockback_runtime.sealing`): each host's uploader gets the S3 targets its plans
use and those holding copies of its archives (`SettingsRepository.granted_targets`) under
`host.<host id>`, the notifier mail and webhooks under `notifier`, their secrets decrypted from
rest and sealed to that recipient's public key (each bound to its name, see `ciphertexts`). A
host's key opens only its own snapshot; no host gets another's targets or the notifier's secrets.
Published after every change has committed (a plan's change of host or upload targets raises the
settings revision too), at start, and when a recipient registers a new key. Several gateways may
publish at once: a snapshot never replaces one with a higher revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import (
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KV_DEL, KV_PURGE
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_contracts import permissions, snapshots
from dockback_contracts.sealed import SealedSecret, SealError, parse_public_key, seal_to
from dockback_contracts.snapshots import SMTP_PASSWORD, target_secret, webhook_signing_secret, webhook_url
from dockback_contracts.streams import SEALING_KEYS_BUCKET, SETTINGS_BUCKET
from dockback_gateway.db import after_commit
from dockback_gateway.keys import Cipher, KeyProblem
from dockback_gateway.settings.models import S3Target as S3TargetRow
from dockback_gateway.settings.repository import SettingsRepository, StoredSettings
from dockback_runtime.buckets import holds_nothing, is_caught_up

log = logging.getLogger(__name__)

LEGACY_SNAPSHOT_KEY = "current"
"""Where one snapshot for everyone, sealed with the shared settings key, used to be: removed."""
_RETRY_PAUSES = (0.5, 1.0, 2.0)
"""Between attempts to publish after a failure that was not the settings' own (NATS)."""
_PUBLISH_AFTER_COMMIT = "settings snapshot"
_PUT_ATTEMPTS = 10
_DRAIN_SECONDS = 10.0
_RESTART_SECONDS = 2.0


@dataclass(frozen=True)
class Recipient:
    """A role that registered its public sealing key, and the settings key its snapshot goes under."""

    role: str
    public_key: str
    snapshot_key: str
    host_id: str | None = None
    """The host of an uploader or executor; None for the notifier."""


def recipient_of(role: str, public_key: str) -> Recipient | None:
    """The recipient a registration names: `notifier`, `uploader-<host id>` or `executor-<host id>`;
    None for anything else."""
    if role == permissions.NOTIFIER:
        return Recipient(role, public_key, snapshots.NOTIFIER_SETTINGS_KEY)
    kind, _, host_id = role.partition("-")
    if not permissions.HOST_ID_PATTERN.match(host_id):
        return None
    if kind == permissions.UPLOADER:
        return Recipient(role, public_key, snapshots.host_settings_key(host_id), host_id)
    if kind == permissions.EXECUTOR:
        return Recipient(role, public_key, snapshots.executor_settings_key(host_id), host_id)
    return None


def build_snapshot(
    stored: StoredSettings, cipher: Cipher, recipient: Recipient, default_ui_base_url: str
) -> snapshots.SettingsSnapshot:
    """`recipient`'s share of `stored`, sealed to its key: an uploader's the S3 targets granted to
    its host, an executor's its host's repositories, the notifier's mail and webhooks. Raises
    KeyProblem, naming the value, when a secret does not decrypt."""
    public_key = parse_public_key(recipient.public_key)

    def sealed(blob: bytes, name: str) -> SealedSecret:
        return seal_to(public_key, name, cipher.decrypt(blob, name).decode())

    defaults = stored.defaults
    for_notifier = recipient.role == permissions.NOTIFIER
    for_uploader = recipient.role.startswith(permissions.UPLOADER + "-")
    smtp = stored.smtp if for_notifier else None
    granted = stored.grants.get(recipient.host_id or "", frozenset()) if for_uploader else frozenset()
    return snapshots.SettingsSnapshot(
        revision=stored.revision.revision,
        recipient=recipient.public_key,
        targets=tuple(sealed_target(t, cipher, recipient.public_key) for t in stored.targets if t.target_id in granted),
        repositories=tuple(
            snapshots.RepositoryKey(
                name=r.name, password=sealed(r.password, snapshots.repository_password(r.host_id, r.name))
            )
            for r in stored.repositories
            if recipient.role == permissions.host_role_name(permissions.EXECUTOR, r.host_id)
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
        webhooks=()
        if not for_notifier
        else tuple(
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


def sealed_target(target: S3TargetRow, cipher: Cipher, public_key: str) -> snapshots.S3Target:
    """A stored S3 target with its keys decrypted from rest and sealed to `public_key`. Raises
    KeyProblem, naming the value, when a key does not decrypt."""
    names = (target_secret(target.target_id, "access_key"), target_secret(target.target_id, "secret_key"))
    return sealed_target_values(
        target.target_id,
        {f: getattr(target, f) for f in TARGET_FIELDS},
        cipher.decrypt(target.access_key, names[0]).decode(),
        cipher.decrypt(target.secret_key, names[1]).decode(),
        public_key,
    )


TARGET_FIELDS = ("endpoint", "secure", "region", "bucket", "prefix", "part_size_bytes", "verify_full_read")
"""The fields of an S3 target besides its id and keys."""


def sealed_target_values(
    target_id: str, fields: dict[str, Any], access_key: str, secret_key: str, public_key: str
) -> snapshots.S3Target:
    """An S3 target of these values (`TARGET_FIELDS`), its keys sealed to `public_key`."""
    recipient = parse_public_key(public_key)
    return snapshots.S3Target(
        target_id=target_id,
        **{f: fields[f] for f in TARGET_FIELDS},
        access_key=seal_to(recipient, target_secret(target_id, "access_key"), access_key),
        secret_key=seal_to(recipient, target_secret(target_id, "secret_key"), secret_key),
    )


def _stored(blob: bytes | None, name: str) -> bytes:
    if blob is None:  # only a URL stored in clear before migration 0011, which the start encrypts first
        raise KeyProblem(f"{name} is not encrypted yet: start the gateway to encrypt it")
    return blob


async def registered_recipients(js: JetStreamContext) -> list[Recipient]:
    """Every valid registration in the sealing keys bucket (an invalid one is logged and skipped).

    The keys come from the stream's subjects, not from nats-py's `KeyValue.keys()`: that one
    watches the bucket and ends when the consumer's info says nothing is pending and the client
    has received nothing, which also holds while the entries are still on their way (the server
    counts them as delivered once sent); then it finds no keys and the snapshot goes to nobody.
    Suspected cause of a settings check that twice, in full test runs, never saw its revision."""
    prefix = f"$KV.{SEALING_KEYS_BUCKET}."
    try:
        bucket = await js.key_value(SEALING_KEYS_BUCKET)
        info = await js.stream_info(permissions.kv_stream(SEALING_KEYS_BUCKET), subjects_filter=f"{prefix}>")
    except (BucketNotFoundError, NotFoundError):
        return []
    roles = [subject[len(prefix) :] for subject in (info.state.subjects or {})]
    found: list[Recipient] = []
    for role in sorted(roles):
        try:
            entry = await bucket.get(role)
            registration = snapshots.SealingKey.model_validate_json(entry.value or b"")
            parse_public_key(registration.public_key)
        except (KeyNotFoundError, KeyDeletedError):
            continue
        except (ValidationError, SealError):
            log.warning("ignoring the sealing key registered under %r: not a valid registration", role)
            continue
        recipient = recipient_of(role, registration.public_key)
        if recipient is None or registration.role != role:
            log.warning("ignoring the sealing key registered under %r: no such recipient", role)
            continue
        found.append(recipient)
    return found


class SnapshotPublisher:
    """Publishes each registered recipient's settings snapshot into the settings KV bucket."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: Cipher,
        js: JetStreamContext,
        default_ui_base_url: str,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._js = js
        self._default_ui_base_url = default_ui_base_url
        self._in_flight: set[asyncio.Task[None]] = set()

    async def publish(self) -> int:
        """Read the committed settings (one consistent view), seal each recipient's share to its key,
        and put it under its key; the settings revision published."""
        async with self._sessions() as db:
            await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            stored = await SettingsRepository(db).read_all()
        for recipient in await registered_recipients(self._js):
            snapshot = build_snapshot(stored, self._cipher, recipient, self._default_ui_base_url)
            await self._put(recipient.snapshot_key, snapshot)
        await self._remove_legacy_snapshot()
        return stored.revision.revision

    async def _put(self, key: str, snapshot: snapshots.SettingsSnapshot) -> None:
        kv = await self._js.key_value(SETTINGS_BUCKET)
        payload = snapshot.model_dump_json().encode()
        for _ in range(_PUT_ATTEMPTS):
            try:
                entry = await kv.get(key)
            except (KeyNotFoundError, KeyDeletedError):
                entry = None
            if entry is not None and _supersedes(entry.value, snapshot):
                return  # another gateway already published this revision, or a newer one
            try:
                if entry is None:
                    await kv.create(key, payload)
                else:
                    await kv.update(key, payload, last=entry.revision)
            except KeyWrongLastSequenceError:
                continue  # someone published in between: compare with theirs
            return
        raise RuntimeError(f"the settings snapshot {key} kept changing under us ({_PUT_ATTEMPTS} attempts)")

    async def _remove_legacy_snapshot(self) -> None:
        """The one snapshot of old, sealed with the key every service shared, goes away."""
        kv = await self._js.key_value(SETTINGS_BUCKET)
        try:
            entry = await kv.get(LEGACY_SNAPSHOT_KEY)
        except (KeyNotFoundError, KeyDeletedError):
            return
        if entry.value:
            await kv.purge(LEGACY_SNAPSHOT_KEY)
            log.info("removed the settings snapshot sealed with the shared settings key (%s)", LEGACY_SNAPSHOT_KEY)

    async def follow_registrations(self) -> None:
        """Publish again whenever a recipient registers a new key (a host's first start, a rotated
        credentials file), until cancelled."""
        while True:
            try:
                bucket = await self._js.key_value(SEALING_KEYS_BUCKET)
                # the registrations there now were published at start; only later ones are news
                initial = not await holds_nothing(self._js, SEALING_KEYS_BUCKET)
                watcher = await bucket.watch(">")
            except Exception:
                log.warning("cannot watch the sealing keys bucket; retrying", exc_info=True)
                await asyncio.sleep(_RESTART_SECONDS)
                continue
            try:
                async for entry in watcher:
                    if entry is None:
                        continue  # nats-py's "nothing pending" can come before the entries (see buckets)
                    if not initial and entry.operation not in (KV_DEL, KV_PURGE):
                        log.info("sealing key of %s registered: publishing its settings", entry.key)
                        await self.publish_or_log()
                    if initial and is_caught_up(entry):
                        initial = False
            finally:
                with contextlib.suppress(Exception):
                    await watcher.stop()  # type: ignore[no-untyped-call]

    async def publish_or_log(self) -> None:
        """Publish; a failure is logged (the previous snapshot stays) and never raised. A failure
        of NATS (a timeout under load) is tried again a few times, sooner than the next change."""
        for pause in (*_RETRY_PAUSES, None):
            try:
                revision = await self.publish()
            except KeyProblem as exc:
                log.error("settings snapshot not published, the previous one stays: %s; set that secret again", exc)
                return
            except Exception:
                if pause is None:
                    log.exception("settings snapshot not published, the previous one stays")
                    return
                log.warning("settings snapshot not published; trying again in %g s", pause, exc_info=True)
                await asyncio.sleep(pause)
            else:
                log.info("published settings snapshots of revision %d", revision)
                return

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


def _supersedes(stored: bytes | None, snapshot: snapshots.SettingsSnapshot) -> bool:
    """Whether the stored snapshot stays: a newer revision, or the same one sealed to the same key."""
    try:
        current = snapshots.SettingsSnapshot.model_validate_json(stored or b"")
    except ValidationError:
        return False
    if current.revision != snapshot.revision:
        return current.revision > snapshot.revision
    return current.recipient == snapshot.recipient
