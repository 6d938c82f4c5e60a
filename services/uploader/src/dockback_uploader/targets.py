"""The S3 targets an uploader may use: read from the gateway's settings snapshot, secrets opened here.

The snapshot lives in the settings KV bucket under `host.<host id>`; its access and secret keys
are sealed to this host's own public key (its private key derives from the host's NATS
credentials, `dockback_runtime.sealing`), so no other host can open them, and this host can read
no other host's snapshot. An opened secret stays inside the `S3Target`'s client and never
reaches a log, an event or a reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError, NotFoundError
from pydantic import ValidationError

from dockback_contracts import sealed, streams
from dockback_contracts.snapshots import PlanSnapshot, S3Target, SettingsSnapshot, host_settings_key, target_secret
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_runtime.outbound import OutboundPolicy


@dataclass(frozen=True)
class Credentials:
    """An opened access key and secret key. Their repr shows neither."""

    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


_POLL_FIRST = 0.05
_POLL_MOST = 1.0


class TargetSettings:
    """Looks up targets (and plans) in the KV buckets the gateway publishes, on every job:
    a target changed in Settings takes effect at the next job without a restart."""

    def __init__(
        self, jetstream: Callable[[], JetStreamContext], host_id: str, key: X25519PrivateKey, policy: OutboundPolicy
    ) -> None:
        self.jetstream = jetstream  # the broker connects after the services are wired
        self.snapshot_key = host_settings_key(host_id)
        self.key = key
        self.public_key = sealed.public_key_text(key)
        self.policy = policy  # which endpoints a target may name (checked at each connection)

    async def _read(self) -> SettingsSnapshot | None:
        """This host's snapshot; None when none was published yet. Read by direct get: this host's
        permissions name this one key, and a watch would name it only in the request's body."""
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

    async def snapshot(self) -> SettingsSnapshot:
        snapshot = await self._read()
        if snapshot is None:
            raise TransientError(
                f"no settings were published for this host yet ({self.snapshot_key}): the gateway publishes them "
                "once it has seen this uploader's sealing key; add S3 targets in Settings"
            )
        return snapshot

    async def snapshot_at(self, revision: int, within: float) -> SettingsSnapshot:
        """The snapshot once it has `revision` or a newer one, waiting at most `within` seconds.

        The gateway publishes a change after it has committed, so a check sent right after a
        save can arrive first: the key is read again, soon and then less often, until it lands."""
        newest: int | None = None
        deadline = time.monotonic() + within
        pause = _POLL_FIRST
        while True:
            snapshot = await self._read()
            if snapshot is not None:
                if snapshot.revision >= revision:
                    return snapshot
                newest = snapshot.revision
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _POLL_MOST)
        seen = "no snapshot at all" if newest is None else f"revision {newest}"
        raise TransientError(
            f"the settings saved as revision {revision} did not reach this uploader within {within:g} s "
            f"(it has {seen}): the gateway publishes them after saving, see its log; try again"
        )

    async def target(
        self, target_id: str, *, revision: int | None = None, within: float = 0.0
    ) -> tuple[S3Target, Credentials]:
        """The target named `target_id` and its opened credentials; with `revision`, as the
        settings of that revision or a newer one describe it (waiting up to `within` s for them)."""
        snapshot = await (self.snapshot() if revision is None else self.snapshot_at(revision, within))
        if snapshot.recipient != self.public_key:
            raise TransientError(
                f"this host's settings are sealed to another key than this uploader's ({self.public_key}): "
                "the gateway seals them again once it has seen the key this uploader registered at start"
            )
        for target in snapshot.targets:
            if target.target_id == target_id:
                return target, self._credentials(target)
        raise PermanentError(
            f"S3 target {target_id!r} is not in the settings: add it in Settings or remove it from the plan"
        )

    async def plan(self, plan_id: str) -> PlanSnapshot | None:
        try:
            bucket = await self.jetstream().key_value(streams.PLANS_BUCKET)
            entry = await bucket.get(plan_id)
        except (BucketNotFoundError, KeyNotFoundError):
            return None
        except Exception as exc:
            raise TransientError(f"could not read plan {plan_id} from NATS: {exc}") from exc
        return PlanSnapshot.model_validate_json(entry.value or b"")

    def _credentials(self, target: S3Target) -> Credentials:
        try:
            return Credentials(
                sealed.unseal(self.key, target_secret(target.target_id, "access_key"), target.access_key),
                sealed.unseal(self.key, target_secret(target.target_id, "secret_key"), target.secret_key),
            )
        except sealed.SealError as exc:
            raise PermanentError(
                f"the credentials of S3 target {target.target_id!r} do not open with this host's sealing key "
                f"({self.public_key}) although they name it: tampered with, or sealed wrongly; save the target again"
            ) from exc


def _parsed(raw: bytes | None) -> SettingsSnapshot:
    try:
        return SettingsSnapshot.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise PermanentError(f"the settings snapshot cannot be read: {exc.error_count()} invalid field(s)") from exc
