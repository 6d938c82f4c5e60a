"""Users' cancellations, read from the cancellations bucket (streams.CANCELS_BUCKET).

The gateway puts a `JobCancellation` under the job's id. A job looks its id up before it
starts; while jobs run, a watch on the bucket cancels the matching one (every worker that runs
jobs, executors and uploaders, watches it). The watch begins
with the bucket's current entries, so a cancellation put while it was down (reconnecting,
or before the bucket existed) still reaches a job that is running when it comes back.
Neither a missing bucket nor a broken connection stops a job: without a cancellation it
simply runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import ValidationError

from dockback_contracts import streams
from dockback_contracts.snapshots import JobCancellation

log = logging.getLogger(__name__)

_REWATCH_SECONDS = 60.0
"""A watch with no news for this long is made afresh: a server that restarted may have lost it
(an ordered consumer does not always notice), and the fresh one replays the current entries."""


class Cancellations:
    """Lookups in, and a watch on, the cancellations bucket."""

    def __init__(self, jetstream: Callable[[], JetStreamContext], retry_seconds: float = 2.0) -> None:
        self._jetstream = jetstream  # a callable: the connection exists only once the broker has connected
        self.retry_seconds = retry_seconds
        self._bucket: KeyValue | None = None

    async def lookup(self, job_id: UUID) -> JobCancellation | None:
        """The cancellation of `job_id`, if a user asked for one (None when the bucket cannot be read)."""
        try:
            bucket = await self._bound()
            entry = await bucket.get(str(job_id))
        except (KeyNotFoundError, BucketNotFoundError):
            return None
        except Exception:
            log.warning("could not read the cancellations bucket; job %s runs", job_id, exc_info=True)
            return None
        return _parse(entry.value)

    async def watch(self, on_cancel: Callable[[JobCancellation], object]) -> None:
        """Call `on_cancel` for every cancellation in the bucket and every one put later; until cancelled."""
        while True:
            try:
                bucket = await self._bound()
                watcher = await bucket.watchall()
                try:
                    while True:
                        try:
                            entry = await watcher.updates(timeout=_REWATCH_SECONDS)  # type: ignore[no-untyped-call]
                        except TimeoutError:
                            break  # quiet for a while: watch afresh, in case the server lost our consumer
                        if entry is None or entry.operation in (KV_DEL, KV_PURGE) or not entry.value:
                            continue  # the end of the initial entries, or a removed cancellation
                        cancellation = _parse(entry.value)
                        if cancellation is not None:
                            on_cancel(cancellation)
                finally:
                    await _stop_quietly(watcher)
                continue
            except BucketNotFoundError:
                self._bucket = None
                log.info("the cancellations bucket does not exist yet (the gateway declares it); waiting")
            except Exception:
                self._bucket = None
                log.warning("the watch on the cancellations bucket broke; watching again", exc_info=True)
            await asyncio.sleep(self.retry_seconds)

    async def _bound(self) -> KeyValue:
        if self._bucket is None:
            self._bucket = await self._jetstream().key_value(streams.CANCELS_BUCKET)
        return self._bucket


def _parse(value: bytes | None) -> JobCancellation | None:
    if not value:
        return None
    try:
        return JobCancellation.model_validate_json(value)
    except ValidationError:
        log.warning("ignored a malformed entry in the cancellations bucket: %r", value[:200])
        return None


async def _stop_quietly(watcher: KeyValue.KeyWatcher) -> None:
    try:
        await watcher.stop()  # type: ignore[no-untyped-call]
    except Exception:
        log.debug("could not stop the cancellations watch", exc_info=True)
