"""A service's own share of the settings: the snapshot the gateway puts into the settings KV
bucket under the service's key (`host.<host>` for an uploader, `executor.<host>` for an
executor), its secrets sealed to the service's own public key (`dockback_runtime.sealing`).

Read by direct get on every use, so a change in Settings takes effect at the next job without a
restart: the service's permissions name this one key, and a watch would name it only in the
request's body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError, NotFoundError
from pydantic import ValidationError

from dockback_contracts import sealed, streams
from dockback_contracts.snapshots import SettingsSnapshot
from dockback_runtime.jobs.errors import PermanentError, TransientError

T = TypeVar("T")
_POLL_FIRST = 0.05
_POLL_MOST = 1.0


class SettingsShare:
    """The snapshot under `snapshot_key`, whose secrets open with `key`; `who` names the service
    in messages ("this uploader")."""

    def __init__(
        self, jetstream: Callable[[], JetStreamContext], snapshot_key: str, key: X25519PrivateKey, who: str
    ) -> None:
        self.jetstream = jetstream  # the broker connects after the services are wired
        self.snapshot_key = snapshot_key
        self.key = key
        self.public_key = sealed.public_key_text(key)
        self.who = who

    async def read(self) -> SettingsSnapshot | None:
        """The snapshot; None when none was published yet."""
        try:
            bucket = await self.jetstream().key_value(streams.SETTINGS_BUCKET)
            entry = await bucket.get(self.snapshot_key)
        except (BucketNotFoundError, NotFoundError) as exc:
            if isinstance(exc, (KeyNotFoundError, KeyDeletedError)):
                return None
            raise TransientError(
                f"the settings bucket {streams.SETTINGS_BUCKET} does not exist: is the gateway running?"
            ) from exc
        except Exception as exc:
            raise TransientError(f"could not read the settings snapshot from NATS: {exc}") from exc
        return None if not entry.value else _parsed(entry.value)

    async def snapshot(self, hint: str) -> SettingsSnapshot:
        """The snapshot, sealed to this service's key; TransientError (ending with `hint`) while
        there is none yet, or while it is still sealed to a key registered before."""
        snapshot = await self.read()
        if snapshot is None:
            raise TransientError(
                f"no settings were published for {self.who} yet ({self.snapshot_key}): the gateway publishes them "
                f"once it has seen {self.who}'s sealing key; {hint}"
            )
        self.sealed_to_me(snapshot.recipient)
        return snapshot

    async def find(
        self, pick: Callable[[SettingsSnapshot], T | None], hint: str, missing_wait: float
    ) -> tuple[T | None, SettingsSnapshot]:
        """What `pick` finds in the snapshot, looked for again for `missing_wait` seconds while it
        finds nothing (None then), with the snapshot it last looked in. The gateway publishes a
        share just after the change that put a thing into it is saved, so a job queued at once
        can arrive first."""
        deadline = time.monotonic() + missing_wait
        pause = _POLL_FIRST
        while True:
            snapshot = await self.snapshot(hint)
            found = pick(snapshot)
            left = deadline - time.monotonic()
            if found is not None or left <= 0:
                return found, snapshot
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _POLL_MOST)

    def sealed_to_me(self, recipient: str | None, what: str = "") -> None:
        if recipient != self.public_key:
            raise TransientError(
                f"{what or 'the settings of ' + self.who} are sealed to another key than {self.who}'s "
                f"({self.public_key}): the gateway seals them again once it has seen the key {self.who} registered "
                "at start"
            )

    def open(self, field: str, value: sealed.SealedSecret, what: str) -> str:
        """The secret `value` sealed to this service for `field`; PermanentError naming `what`
        when it does not open."""
        try:
            return sealed.unseal(self.key, field, value)
        except sealed.SealError as exc:
            raise PermanentError(
                f"{what} does not open with {self.who}'s sealing key ({self.public_key}) although it names it: "
                "tampered with, or sealed wrongly; save it again"
            ) from exc


def _parsed(raw: bytes | None) -> SettingsSnapshot:
    try:
        return SettingsSnapshot.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise PermanentError(f"the settings snapshot cannot be read: {exc.error_count()} invalid field(s)") from exc
