"""The alert channels the gateway's settings snapshot configures, kept current by watching it.

The notifier's snapshot (`notifier` in the settings bucket) is sealed to the notifier's own key
(derived from its NATS credentials, `dockback_runtime.sealing`); no host can open it. Secrets
are opened only when a channel is built, and live only inside that channel object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KV_DEL, KV_PURGE
from pydantic import ValidationError

from dockback_contracts import sealed, snapshots, streams
from dockback_notifier import alerts as al
from dockback_notifier.errors import DeliveryError
from dockback_notifier.mail import SmtpChannel
from dockback_notifier.webhooks import WebhookChannel
from dockback_runtime.buckets import key_is_absent
from dockback_runtime.delivery import wait_until_set
from dockback_runtime.outbound import OutboundPolicy

log = logging.getLogger(__name__)


class Channel(Protocol):
    """Somewhere alerts go. `send` raises DeliveryError."""

    name: str

    def describe(self) -> str: ...

    async def send(self, alerts: list[al.Alert]) -> None: ...


_READ_FIRST = 0.25
_READ_MOST = 1.0
"""How long a check waits for the watch before reading the snapshot's key directly, first and at most."""


class ChannelSettings:
    """The current settings snapshot and the channels built from it."""

    def __init__(
        self,
        key: X25519PrivateKey,
        *,
        window_seconds: float,
        smtp_timeout: float,
        smtp_ca_file: Path | None,
        webhook_timeout: float,
        policy: OutboundPolicy,
    ) -> None:
        self.key = key
        self.public_key = sealed.public_key_text(key)
        self.policy = policy
        self.window_seconds = window_seconds
        self.smtp_timeout = smtp_timeout
        self.smtp_ca_file = smtp_ca_file
        self.webhook_timeout = webhook_timeout
        self.snapshot: snapshots.SettingsSnapshot | None = None
        self.loaded = asyncio.Event()
        self._applied = asyncio.Event()  # set (and replaced) each time a snapshot is applied
        self._sequence = 0  # the settings bucket's sequence of the entry applied last
        self._js: JetStreamContext | None = None

    @property
    def ui_base_url(self) -> str:
        return (
            self.snapshot.ui_base_url
            if self.snapshot
            else snapshots.SettingsSnapshot.model_fields["ui_base_url"].default
        )

    def channel_names(self) -> list[str]:
        if self.snapshot is None:
            return []
        names = ["smtp"] if self.snapshot.smtp else []
        names.extend(f"webhook:{w.webhook_id}" for w in self.snapshot.webhooks)
        return names

    def digest_channel_names(self) -> list[str]:
        """The channels that also get a digest of succeeded jobs."""
        if self.snapshot is None:
            return []
        smtp = self.snapshot.smtp
        names = ["smtp"] if smtp and smtp.succeeded_digest else []
        names.extend(f"webhook:{w.webhook_id}" for w in self.snapshot.webhooks if w.succeeded_digest)
        return names

    def channel(self, name: str, *, window_seconds: float | None = None) -> Channel | None:
        """The channel of that name as the settings describe it now; None when it is gone.
        `window_seconds`: the window its digests name (default: the alert digest window).

        Raises DeliveryError (permanent) when its secret cannot be opened."""
        window_seconds = self.window_seconds if window_seconds is None else window_seconds
        if self.snapshot is None:
            return None
        if name == "smtp":
            smtp = self.snapshot.smtp
            return None if smtp is None else self.smtp_channel(smtp, window_seconds=window_seconds)
        for webhook in self.snapshot.webhooks:
            if name == f"webhook:{webhook.webhook_id}":
                return self.webhook_channel(webhook, window_seconds=window_seconds)
        return None

    def smtp_channel(self, smtp: snapshots.SmtpSettings, *, window_seconds: float | None = None) -> SmtpChannel:
        """A mail channel with these settings (the snapshot's, or a form's sent with a check);
        its password sealed to this notifier. Raises DeliveryError (permanent) when it does not open."""
        password = self._open(snapshots.SMTP_PASSWORD, smtp.password) if smtp.password else None
        return SmtpChannel(
            smtp,
            password,
            window_seconds=self.window_seconds if window_seconds is None else window_seconds,
            timeout=self.smtp_timeout,
            ca_file=self.smtp_ca_file,
            policy=self.policy,
        )

    def webhook_channel(self, webhook: snapshots.Webhook, *, window_seconds: float | None = None) -> WebhookChannel:
        """A webhook channel with these settings (the snapshot's, or a form's sent with a check);
        its URL and secret sealed to this notifier. Raises DeliveryError (permanent) when they do not open."""
        secret = (
            self._open(snapshots.webhook_signing_secret(webhook.webhook_id), webhook.signing_secret)
            if webhook.signing_secret
            else None
        )
        url = self._open(snapshots.webhook_url(webhook.webhook_id), webhook.url)
        return WebhookChannel(
            webhook,
            url,
            secret,
            window_seconds=self.window_seconds if window_seconds is None else window_seconds,
            timeout=self.webhook_timeout,
            policy=self.policy,
        )

    def _open(self, field: str, value: sealed.SealedSecret) -> str:
        try:
            return sealed.unseal(self.key, field, value)
        except sealed.SealError:
            raise DeliveryError(
                f"cannot open {field} with the notifier's sealing key ({self.public_key}): sealed to another "
                "key, or tampered with",
                permanent=True,
            ) from None

    def apply(self, raw: bytes | None) -> None:
        if raw is None:
            self.snapshot = None
            log.info("settings snapshot removed: no alert channels")
            return
        try:
            snapshot = snapshots.SettingsSnapshot.model_validate_json(raw)
        except ValidationError as exc:
            log.error("ignoring an invalid settings snapshot (%d errors); keeping the previous one", exc.error_count())
            return
        if snapshot.recipient != self.public_key:
            # sealed to a key this notifier had before (or another notifier's): the gateway seals
            # them again once it sees the registration; until then its secrets would not open
            log.warning(
                "settings revision %d are sealed to another key than this notifier's; waiting for them to be "
                "sealed to %s",
                snapshot.revision,
                self.public_key,
            )
        self.snapshot = snapshot
        log.info("settings revision %d: channels %s", snapshot.revision, ", ".join(self.channel_names()) or "none")
        applied, self._applied = self._applied, asyncio.Event()
        applied.set()

    @property
    def revision(self) -> int | None:
        """The revision of the settings this notifier has (None: none yet)."""
        return None if self.snapshot is None else self.snapshot.revision

    async def reach(self, revision: int, within: float) -> bool:
        """Wait until the snapshot has `revision` or a newer one, at most `within` seconds;
        whether it has. The gateway publishes a change just after saving it, so a check sent
        at once can arrive before the watch has brought it; and a watch can fall behind (an
        ordered consumer that is reset skips ahead), so the key is also read directly, soon and
        then less often, while the wanted revision is missing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        pause = _READ_FIRST
        while self.revision is None or self.revision < revision:
            left = deadline - loop.time()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(pause, left)):
                    await self._applied.wait()
            if self.revision is None or self.revision < revision:
                await self._read_directly()
            pause = min(pause * 2, _READ_MOST)
        return self.revision is not None and self.revision >= revision

    async def _read_directly(self) -> None:
        """Apply the snapshot under the key if it is newer than the one applied last."""
        if self._js is None:
            return
        try:
            kv = await self._js.key_value(streams.SETTINGS_BUCKET)
            entry = await kv.get(snapshots.NOTIFIER_SETTINGS_KEY)
        except (BucketNotFoundError, NotFoundError, KeyNotFoundError):
            return
        except Exception as exc:  # the watch stays the source; a failed read only waits longer
            log.warning("cannot read the settings snapshot directly: %s", type(exc).__name__)
            return
        self._apply_entry(entry.revision, entry.value)

    def _apply_entry(self, sequence: int | None, raw: bytes | None) -> None:
        """Apply a bucket entry unless one written later was applied already (the watch and a
        direct read can bring the same entries in either order)."""
        if sequence is not None:
            if sequence <= self._sequence:
                return
            self._sequence = sequence
        self.apply(raw)

    async def watch(self, js: JetStreamContext, stopped: asyncio.Event) -> None:
        """Follow the snapshot until `stopped`; `loaded` is set once the current value is known."""
        while not stopped.is_set():
            try:
                self._js = js
                self._sequence = 0  # a new watch starts with the current entry again
                kv = await js.key_value(streams.SETTINGS_BUCKET)
                if await key_is_absent(kv, snapshots.NOTIFIER_SETTINGS_KEY):
                    self.loaded.set()  # no settings yet: known to be none
                watcher = await kv.watch(snapshots.NOTIFIER_SETTINGS_KEY)
            except (BucketNotFoundError, NotFoundError):
                log.warning("bucket %s does not exist yet (the gateway declares it); retrying", streams.SETTINGS_BUCKET)
                await wait_until_set(stopped, 2.0)
                continue
            try:
                async for entry in watcher:
                    if entry is None:
                        continue  # nats-py's "nothing pending" can come before the value (see buckets)
                    self._apply_entry(entry.revision, None if entry.operation in (KV_DEL, KV_PURGE) else entry.value)
                    self.loaded.set()
            finally:
                with contextlib.suppress(Exception):
                    await watcher.stop()  # type: ignore[no-untyped-call]


class PlanNames:
    """Plan names from the plans bucket, for alerts whose event carries only the plan id."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def name_of(self, plan_id: UUID | None) -> str | None:
        if plan_id is None:
            return None
        try:
            kv = await self.js.key_value(streams.PLANS_BUCKET)
            entry = await kv.get(str(plan_id))
            if entry.value is None:
                return None
            return snapshots.PlanSnapshot.model_validate_json(entry.value).name
        except (BucketNotFoundError, KeyNotFoundError, NotFoundError, ValidationError):
            return None
        except Exception:  # a name is a nicety: never hold an alert back for it
            log.warning("cannot look up the name of plan %s", plan_id, exc_info=True)
            return None
