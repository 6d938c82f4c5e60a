"""Publishing a worker's facts: JetStream for what must not be lost (deduplicated by the event's
natural `Nats-Msg-Id`), core NATS for progress."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from uuid import UUID

from faststream.nats import NatsBroker

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.base import JobPhase
from dockback_runtime.jobs.errors import TransientError

log = logging.getLogger(__name__)


class Announcer:
    """Publishes events with their natural `Nats-Msg-Id`, so announcing twice stores once.

    `observe` sees every event once it is stored (the service's own metrics)."""

    def __init__(
        self, broker: NatsBroker, host_id: str, observe: Callable[[ev.Event], None] = lambda _event: None
    ) -> None:
        self.broker = broker
        self.host_id = host_id
        self.observe = observe
        self._background: set[asyncio.Task[None]] = set()

    async def publish(self, event: ev.Event, *, message_id: str | None = None) -> None:
        """Publish `event` under its natural `Nats-Msg-Id`, or `message_id` when the natural one is
        taken in the stream by another message (a fetched archive's restore: the job's own
        `FetchRequested` carries the job id)."""
        stream = streams.stream_for(event)
        try:
            await self.broker.publish(
                event,
                subjects.subject_for(event),
                stream=stream,
                headers={"Nats-Msg-Id": message_id or subjects.message_id(event)},
            )
        except Exception as exc:
            raise TransientError(f"could not publish {type(event).__name__}: {exc}") from exc
        self.observe(event)

    def progress_reporter(self, job_id: UUID, phase: JobPhase, total: int | None = None) -> ProgressReporter:
        return ProgressReporter(self, job_id, phase, total)

    def fire_and_forget(self, event: ev.Event) -> None:
        """Publish on core NATS in the background; losing it is harmless (progress)."""

        async def send() -> None:
            try:
                await self.broker.publish(event, subjects.subject_for(event))
            except Exception:
                log.debug("progress not sent", exc_info=True)

        task = asyncio.get_running_loop().create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class ProgressReporter:
    """Sends `JobProgress` at most once a second; losing one is harmless. `total` is the step's
    expected size when the host knows it (None: no percentage can be shown)."""

    def __init__(self, announcer: Announcer, job_id: UUID, phase: JobPhase, total: int | None) -> None:
        self.announcer = announcer
        self.job_id = job_id
        self.phase = phase
        self.total = total
        self._last = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < 1.0:
            return
        self._last = now
        self._send(done)

    def finish(self, done: int) -> None:
        """The step is over and `done` is its exact size: say so at once (not held back by the
        once-a-second limit), as the total too, so the last figure shown is not an earlier sample."""
        self.total = done
        self._last = time.monotonic()
        self._send(done)

    def _send(self, done: int) -> None:
        self.announcer.fire_and_forget(
            ev.JobProgress(
                job_id=self.job_id,
                host_id=self.announcer.host_id,
                phase=self.phase,
                bytes_done=done,
                bytes_total=self.total,
            )
        )
