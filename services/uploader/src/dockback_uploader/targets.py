"""The S3 targets an uploader may use: read from the gateway's settings snapshot, secrets opened here.

The snapshot lives in the settings KV bucket; its access and secret keys are sealed with
the settings key, which only the uploader and the notifier are given. An opened secret
stays inside the `S3Target`'s client and never reaches a log, an event or a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KV_DEL, KV_PURGE
from pydantic import ValidationError

from dockback_contracts import sealed, streams
from dockback_contracts.snapshots import SETTINGS_SNAPSHOT_KEY, PlanSnapshot, S3Target, SettingsSnapshot, target_secret
from dockback_runtime.jobs.errors import PermanentError, TransientError
from dockback_runtime.outbound import OutboundPolicy


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
        self, jetstream: Callable[[], JetStreamContext], settings_key_file: Path, policy: OutboundPolicy
    ) -> None:
        self.jetstream = jetstream  # the broker connects after the services are wired
        self.settings_key_file = settings_key_file
        self.policy = policy  # which endpoints a target may name (checked at each connection)

    async def snapshot(self) -> SettingsSnapshot:
        try:
            bucket = await self.jetstream().key_value(streams.SETTINGS_BUCKET)
            entry = await bucket.get(SETTINGS_SNAPSHOT_KEY)
        except (BucketNotFoundError, KeyNotFoundError) as exc:
            raise PermanentError(
                "no settings snapshot was published yet: add the S3 target in Settings (the gateway publishes it)"
            ) from exc
        except Exception as exc:
            raise TransientError(f"could not read the settings snapshot from NATS: {exc}") from exc
        return _parsed(entry.value)

    async def snapshot_at(self, revision: int, within: float) -> SettingsSnapshot:
        """The snapshot once it has `revision` or a newer one, waiting at most `within` seconds.

        The gateway publishes a change after it has committed, so a check sent right after a
        save can arrive first; watching the key (its current value comes first) sees the
        publication as soon as it lands."""
        newest: int | None = None
        try:
            async with asyncio.timeout(within):
                try:
                    bucket = await self.jetstream().key_value(streams.SETTINGS_BUCKET)
                    watcher = await bucket.watch(SETTINGS_SNAPSHOT_KEY)
                except (BucketNotFoundError, NotFoundError) as exc:
                    raise PermanentError(
                        f"the settings bucket {streams.SETTINGS_BUCKET} does not exist: is the gateway running?"
                    ) from exc
                except Exception as exc:
                    raise TransientError(f"could not read the settings snapshot from NATS: {exc}") from exc
                try:
                    async for entry in watcher:
                        if entry is None or entry.value is None or entry.operation in (KV_DEL, KV_PURGE):
                            continue  # the end of the current values, or the snapshot removed
                        snapshot = _parsed(entry.value)
                        if snapshot.revision >= revision:
                            return snapshot
                        newest = snapshot.revision
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()  # type: ignore[no-untyped-call]
        except TimeoutError:
            pass
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
            key = sealed.load_key(self.settings_key_file.read_text())
        except OSError as exc:
            raise PermanentError(
                f"the settings key file {self.settings_key_file} cannot be read ({exc.strerror}): "
                "give the uploader the gateway's settings key (DOCKBACK_SETTINGS_KEY_FILE)"
            ) from exc
        except sealed.SealError as exc:
            raise PermanentError(
                f"the settings key file {self.settings_key_file} is not a settings key: {exc}"
            ) from exc
        try:
            return Credentials(
                sealed.unseal(key, target_secret(target.target_id, "access_key"), target.access_key),
                sealed.unseal(key, target_secret(target.target_id, "secret_key"), target.secret_key),
            )
        except sealed.SealError as exc:
            raise PermanentError(
                f"the credentials of S3 target {target.target_id!r} cannot be opened with this uploader's "
                "settings key: is DOCKBACK_SETTINGS_KEY_FILE the gateway's key?"
            ) from exc


def _parsed(raw: bytes | None) -> SettingsSnapshot:
    try:
        return SettingsSnapshot.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise PermanentError(f"the settings snapshot cannot be read: {exc.error_count()} invalid field(s)") from exc
