"""The S3 targets an uploader may use: read from the gateway's settings snapshot, secrets opened here.

The snapshot lives in the settings KV bucket under `host.<host id>`; its access and secret keys
are sealed to this host's own public key (its private key derives from the host's NATS
credentials, `dockback_runtime.sealing`), so no other host can open them, and this host can read
no other host's snapshot. An opened secret stays inside the `S3Target`'s client and never
reaches a log, an event or a reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError

from dockback_contracts import streams
from dockback_contracts.snapshots import PlanSnapshot, S3Target, host_settings_key, target_secret
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_runtime.outbound import OutboundPolicy
from dockback_runtime.settings_share import SettingsShare

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
        self.share = SettingsShare(jetstream, host_settings_key(host_id), key, "this uploader")
        self.public_key = self.share.public_key
        self.policy = policy  # which endpoints a target may name (checked at each connection)
        self.missing_wait = missing_wait

    async def target(self, target_id: str) -> tuple[S3Target, Credentials]:
        """The target named `target_id` in this host's settings, and its opened credentials.

        A host's settings hold only the targets its plans use and those holding copies of its
        archives. A missing target is looked for again, briefly (`missing_wait`: a plan's new
        target can be published after its first job arrives), before the job fails saying which
        target is missing."""
        found, snapshot = await self.share.find(
            lambda s: next((t for t in s.targets if t.target_id == target_id), None),
            "add S3 targets in Settings",
            self.missing_wait,
        )
        if found is not None:
            return found, self._credentials(found)
        raise PermanentError(
            f"S3 target {target_id!r} is not in this host's settings (revision {snapshot.revision}; a host "
            "gets the targets its plans use): add it to the plan's upload_targets, or add it in Settings "
            "if it was removed"
        )

    def opened(self, target: S3Target, *, sealed_to: str) -> Credentials:
        """The credentials of a target sent to this host (a check), sealed to `sealed_to`."""
        self.share.sealed_to_me(sealed_to, what=f"the keys in the check of S3 target {target.target_id!r}")
        return self._credentials(target)

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
        what = f"the credentials of S3 target {target.target_id!r}"
        return Credentials(
            self.share.open(target_secret(target.target_id, "access_key"), target.access_key, what),
            self.share.open(target_secret(target.target_id, "secret_key"), target.secret_key, what),
        )
