"""From alerts to deliveries: one alert per key and channel, floods folded into digests,
failed deliveries retried, and each message acked only once every channel has its alert.

Per channel (the SMTP server, each webhook):
- an alert whose key the channel already took (sent, or being sent) is a duplicate: dropped.
  Taken keys are remembered in process (a bounded LRU, the quick answer) and in the KV bucket
  of sent alerts (`sent.SentAlerts`), which survives a restart and is shared by every
  notifier: a create-only write there decides which notifier sends. A redelivery after a
  crash between sending and recording it as done may repeat that one alert; a bucket that
  cannot be reached lets alerts through unchecked (logged): sending twice beats never sending;
- a channel that is quiet sends the alert at once and opens a window; alerts arriving while
  the window is open are collected and sent as one digest when it ends (which opens the next
  window, so a long flood gives one digest per window);
- a failed delivery is retried in process after each of the retry delays, while the message
  is held with in-progress acks; after the last one it is logged as an error and acked:
  a channel that stays broken must not hold the stream back forever.
Succeeded-job digests go through a second dispatcher of `DigestGate`s, one per channel with
`succeeded_digest`: there nothing is sent at once; the first succeeded job opens a window of
`succeeded_digest_seconds` and its end sends one digest of all collected (the messages are
held with in-progress acks until then), never mixed with the failure alerts.
On shutdown, collected alerts get one last attempt; what is still undelivered is nacked and
comes back, to another notifier or to this one after its restart.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Protocol

from dockback_notifier.alerts import Alert
from dockback_notifier.channels import Channel, ChannelSettings
from dockback_notifier.errors import DeliveryError
from dockback_notifier.metrics import NOTIFICATIONS
from dockback_notifier.sent import Delivery, SentAlerts, Ticket
from dockback_runtime.delivery import wait_until_set
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)

REDELIVER_AFTER_SHUTDOWN = 2.0


class Settleable(Protocol):
    """The parts of a JetStream message a held alert needs (FastStream's NatsMessage)."""

    async def ack(self) -> None: ...

    async def nack(self, delay: float | None = None) -> None: ...

    async def in_progress(self) -> None: ...


class Held:
    """A message whose alert is on its way to `parts` channels; acked when all are done,
    nacked when any of them was interrupted by a shutdown."""

    def __init__(self, msg: Settleable, parts: int, on_settled: Callable[[Held], None]) -> None:
        self.msg = msg
        self.remaining = parts
        self.interrupted = False
        self._on_settled = on_settled

    async def done(self, *, interrupted: bool = False) -> None:
        self.interrupted |= interrupted
        self.remaining -= 1
        if self.remaining > 0:
            return
        self._on_settled(self)
        try:
            if self.interrupted:
                await self.msg.nack(delay=REDELIVER_AFTER_SHUTDOWN)
            else:
                await self.msg.ack()
        except Exception:  # the message comes back after ack_wait; the duplicate check drops it
            log.warning("cannot settle an alert's message", exc_info=True)


@dataclass(frozen=True)
class Part:
    """One alert for one channel, the message it came from (and which delivery of it), and once
    this notifier has taken it, its record in the bucket of sent alerts."""

    alert: Alert
    held: Held
    delivery: Delivery | None
    ticket: Ticket | None = None


class ChannelGate:
    """The alerts of one channel: duplicates dropped, floods collected into digests, retries."""

    def __init__(
        self,
        name: str,
        channels: ChannelSettings,
        sent: SentAlerts,
        *,
        window_seconds: float,
        retry_delays: tuple[float, ...],
        capacity: int,
    ) -> None:
        self.name = name
        self.channels = channels
        self.sent = sent
        self.window_seconds = window_seconds
        self.retry_delays = retry_delays
        self.capacity = capacity
        self.taken: OrderedDict[str, None] = OrderedDict()
        self.pending: list[Part] = []
        self.window: asyncio.Task[None] | None = None
        self.deliveries: set[asyncio.Task[None]] = set()
        self.closing = asyncio.Event()

    async def _take(self, part: Part, what: str) -> Part | None:
        """The part with its ticket when this notifier is to send it; None (and the part done)
        when the channel already took its alert, here or in another notifier."""
        key = part.alert.key
        if key in self.taken:
            self.taken.move_to_end(key)
            log.info("%s %s already taken on %s: dropping the duplicate", what, key, self.name)
            await part.held.done()
            return None
        self.taken[key] = None  # before the bucket's answer: a copy arriving meanwhile is dropped here
        while len(self.taken) > self.capacity:
            self.taken.popitem(last=False)
        ticket = await self.sent.claim(self.name, key, part.delivery)
        if ticket is None:
            log.info("%s %s already taken on %s by a notifier: dropping the duplicate", what, key, self.name)
            await part.held.done()
            return None
        if self.closing.is_set():  # closed while the bucket answered: nothing would send it
            self.taken.pop(key, None)
            await self.sent.release(ticket)
            await part.held.done(interrupted=True)
            return None
        return replace(part, ticket=ticket)

    async def submit(self, part: Part) -> None:
        taken = await self._take(part, "alert")
        if taken is None:
            return
        part = taken
        if self.window is None:
            # A context of its own: its digests are of many jobs, not of the one whose alert opened it.
            self.window = asyncio.create_task(
                self._run_window(), name=f"digest-window-{self.name}", context=contextvars.Context()
            )
            self._spawn(self._deliver([part]))
        else:
            self.pending.append(part)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.deliveries.add(task)
        task.add_done_callback(self.deliveries.discard)

    async def _run_window(self) -> None:
        while True:
            await wait_until_set(self.closing, self.window_seconds)
            if self.closing.is_set():
                return
            batch, self.pending = self.pending, []
            if not batch:
                self.window = None
                return
            await self._deliver(batch)

    async def _deliver(self, batch: list[Part]) -> None:
        alerts = [part.alert for part in batch]
        what = alerts[0].key if len(alerts) == 1 else f"a digest of {len(alerts)} alerts"
        interrupted = False
        try:
            interrupted = not await self._send_with_retries(alerts, what)
        except asyncio.CancelledError:
            interrupted = True
            raise
        finally:
            for part in batch:
                if interrupted:
                    self.taken.pop(part.alert.key, None)  # not sent: let it be sent when it comes back
                if part.ticket is not None:
                    await (self.sent.release if interrupted else self.sent.settle)(part.ticket)
            for part in batch:
                await part.held.done(interrupted=interrupted)

    async def _send_with_retries(self, alerts: list[Alert], what: str) -> bool:
        """True when sent or given up; False when a shutdown interrupted it."""
        attempt = 0
        while True:
            attempt += 1
            try:
                channel: Channel | None = self._channel()
                if channel is None:
                    log.warning("channel %s was removed from the settings: %s not sent", self.name, what)
                    return True
                await channel.send(alerts)
                log.info("sent %s on %s", what, self.name)
                NOTIFICATIONS.labels(self.name.split(":", 1)[0], "sent").inc()
                return True
            except DeliveryError as exc:
                error: str = str(exc)
                permanent = exc.permanent
            except Exception as exc:  # a bug in a channel: retry like a transient error, keep the trace
                log.exception("sending %s on %s raised unexpectedly", what, self.name)
                error, permanent = type(exc).__name__, False
            if self.closing.is_set():
                log.warning("not sent %s on %s before shutdown (%s): it will be redelivered", what, self.name, error)
                return False
            if permanent or attempt > len(self.retry_delays):
                log.error("giving up on %s on %s after %d attempts: %s", what, self.name, attempt, error)
                NOTIFICATIONS.labels(self.name.split(":", 1)[0], "failed").inc()
                return True
            delay = self.retry_delays[attempt - 1]
            log.warning("sending %s on %s failed (%s); retrying in %.1fs", what, self.name, error, delay)
            NOTIFICATIONS.labels(self.name.split(":", 1)[0], "retried").inc()
            await wait_until_set(self.closing, delay)
            if self.closing.is_set():
                return False

    def _channel(self) -> Channel | None:
        return self.channels.channel(self.name)

    async def close(self, grace: float) -> None:
        """Stop collecting: send what was collected once, interrupt retries after `grace` seconds."""
        self.closing.set()  # wakes the window and any retry that waits
        batch, self.pending = self.pending, []
        if batch:
            self._spawn(self._deliver(batch))  # one attempt: with `closing` set a failure nacks
        running = set(self.deliveries) | ({self.window} if self.window else set())
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)


class DigestGate(ChannelGate):
    """The succeeded jobs of one channel: all collected, one digest at the end of each window."""

    async def submit(self, part: Part) -> None:
        taken = await self._take(part, "succeeded job")
        if taken is None:
            return
        self.pending.append(taken)
        if self.window is None:
            self.window = asyncio.create_task(
                self._run_window(), name=f"succeeded-digest-{self.name}", context=contextvars.Context()
            )

    def _channel(self) -> Channel | None:
        return self.channels.channel(self.name, window_seconds=self.window_seconds)


class Dispatcher:
    """Hands each alert to every configured channel's gate and keeps held messages alive.

    With `succeeded_digests`, the alerts are succeeded jobs: they go only to the channels
    with `succeeded_digest`, each through a `DigestGate`; without such a channel they are
    acked quietly."""

    def __init__(
        self,
        channels: ChannelSettings,
        sent: SentAlerts,
        *,
        window_seconds: float,
        retry_delays: tuple[float, ...],
        capacity: int,
        keep_alive_interval: float,
        succeeded_digests: bool = False,
    ) -> None:
        self.channels = channels
        self.sent = sent
        self.succeeded_digests = succeeded_digests
        self.gate_type = DigestGate if succeeded_digests else ChannelGate
        self.window_seconds = window_seconds
        self.retry_delays = retry_delays
        self.capacity = capacity
        self.keep_alive_interval = keep_alive_interval
        self.gates: dict[str, ChannelGate] = {}
        self.held: set[Held] = set()
        self.closing = False
        self._said_no_channels = False
        self._keep_alive: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._keep_alive = asyncio.create_task(
            self._keep_held_alive(),
            name="held-succeeded-keep-alive" if self.succeeded_digests else "held-alerts-keep-alive",
        )

    async def submit(self, alert: Alert, msg: Settleable, delivery: Delivery | None) -> None:
        """Hand the alert of `msg` (which `delivery` carried) to every channel's gate."""
        if self.closing:
            await msg.nack(delay=REDELIVER_AFTER_SHUTDOWN)
            return
        if self.succeeded_digests:
            names = self.channels.digest_channel_names()
            if not names:
                await msg.ack()  # no channel wants succeeded jobs
                return
        else:
            names = self.channels.channel_names()
        if not names:
            if not self._said_no_channels:
                log.warning("no alert channel is configured (SMTP or webhook): alerts are dropped until one is")
                self._said_no_channels = True
            log.info("no channel for alert %s: %s", alert.key, alert.title)
            await msg.ack()
            return
        self._said_no_channels = False
        held = Held(msg, len(names), self.held.discard)
        self.held.add(held)
        for name in names:
            gate = self.gates.get(name)
            if gate is None:
                gate = self.gates[name] = self.gate_type(
                    name,
                    self.channels,
                    self.sent,
                    window_seconds=self.window_seconds,
                    retry_delays=self.retry_delays,
                    capacity=self.capacity,
                )
            await gate.submit(Part(alert, held, delivery))

    async def quiet(self) -> None:
        """Until every channel's window has closed: a window closes once a whole window passes with
        nothing collected, so from then on nothing more goes out for what was submitted before."""
        while windows := [gate.window for gate in self.gates.values() if gate.window is not None]:
            await asyncio.wait(windows)

    async def _keep_held_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keep_alive_interval)
            for held in list(self.held):
                try:
                    await held.msg.in_progress()
                except Exception:
                    log.warning("in-progress ack of a held alert failed", exc_info=True)

    async def close(self, grace: float = 10.0) -> None:
        self.closing = True
        await asyncio.gather(*(gate.close(grace) for gate in self.gates.values()))
        await stop_loops(self._keep_alive)
