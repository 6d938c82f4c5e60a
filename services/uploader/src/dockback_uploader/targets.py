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

_POLL_FIRST = 0.05
_POLL_MOST = 1.0
MISSING_TARGET_WAIT_SECONDS = 5.0
"""How long a job looks for a target missing from this host's settings before it fails."""


@dataclass(frozen=True)
class Credentials:
    """An opened access key and secret key. Their repr shows neither."""

    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


class TargetSettings:
    """Looks up targets (and plans) in the KV buckets the gateway publishes, on every job:
    a target changed in Settings takes effect at the next job without a restart."""

    def __init__(
        self,
        jetstream: Callable[[], JetStreamContext],
        host_id: str,
        key: X25519PrivateKey,
        policy: OutboundPolicy,
        missing_wait: float = MISSING_TARGET_WAIT_SECONDS,
    ) -> None:
        self.jetstream = jetstream  # the broker connects after the services are wired
        self.snapshot_key = host_settings_key(host_id)
        self.key = key
        self.public_key = sealed.public_key_text(key)
        self.policy = policy  # which endpoints a target may name (checked at each connection)
        self.missing_wait = missing_wait

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

    async def target(self, target_id: str) -> tuple[S3Target, Credentials]:
        """The target named `target_id` in this host's settings, and its opened credentials.

        A host's settings hold only the targets its plans use and those holding copies of its
        archives. The gateway publishes a plan's new target just after saving the plan, so a job
        queued at once can arrive first: a missing target is looked for again, briefly
        (`missing_wait`), before the job fails saying which target is missing."""
        deadline = time.monotonic() + self.missing_wait
        pause = _POLL_FIRST
        while True:
            snapshot = await self.snapshot()
            self._sealed_to_me(snapshot.recipient)
            for target in snapshot.targets:
                if target.target_id == target_id:
                    return target, self._credentials(target)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _POLL_MOST)
        raise PermanentError(
            f"S3 target {target_id!r} is not in this host's settings (revision {snapshot.revision}; a host "
            "gets the targets its plans use): add it to the plan's upload_targets, or add it in Settings "
            "if it was removed"
        )

    def opened(self, target: S3Target, *, sealed_to: str) -> Credentials:
        """The credentials of a target sent to this host (a check), sealed to `sealed_to`."""
        self._sealed_to_me(sealed_to, what=f"the keys in the check of S3 target {target.target_id!r}")
        return self._credentials(target)

    def _sealed_to_me(self, recipient: str | None, what: str = "this host's settings") -> None:
        if recipient != self.public_key:
            raise TransientError(
                f"{what} are sealed to another key than this uploader's ({self.public_key}): "
                "the gateway seals them again once it has seen the key this uploader registered at start"
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
