"""The record of the alerts the notifiers took, per channel, in the JetStream KV bucket
`dockback_alerts_sent`: it survives a restart and is shared by every notifier.

One key per channel and alert key. A notifier that takes an alert writes its record with a
create-only write (`kv.create`, refused when the key exists), so of two notifiers racing for
the same alert one sends it and the other drops it. The record says `sending` (with the
delivery that carried the alert: the message's stream sequence and delivery count) until the
channel is done with it, then `done` (sent, or given up after the retries). An alert whose
record exists is a duplicate and is dropped, with two exceptions:
- a `sending` record whose own message comes back (same stream sequence, a later delivery):
  the notifier that took it stopped before finishing (a crash, or its in-progress acks
  lapsed), so the redelivery takes the record over (a compare-and-set on its revision) and sends;
- a send interrupted by a shutdown deletes its record before its message is nacked, so the
  alert is sent when it comes back.
When the bucket cannot be read or written (NATS unreachable, the bucket missing, a permission
refused), the alert is sent anyway and a warning says so: a second notifier might then send it
too, which is better than never sending it.

Records expire with the bucket's TTL, as long as the facts they came from are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from dockback_contracts import streams

log = logging.getLogger(__name__)

SENDING = "sending"
DONE = "done"


@dataclass(frozen=True)
class Delivery:
    """Which message carried an alert (`seq`, its stream sequence) and how often it was delivered."""

    seq: int
    number: int


@dataclass(frozen=True)
class Ticket:
    """This notifier's record of one alert on one channel. `revision` None: not recorded
    (the bucket was unreachable), so there is nothing to update."""

    key: str
    channel: str
    alert_key: str
    revision: int | None


def record_key(channel: str, alert_key: str) -> str:
    """The bucket key of an alert on a channel. Channel names and alert keys hold characters a KV
    key cannot (`webhook:<id>`, `failed:<job id>`), so the key is a digest; the record's value
    names both."""
    return hashlib.sha256(f"{channel}\n{alert_key}".encode()).hexdigest()


class SentAlerts:
    """Claims an alert on a channel before it is sent, and says when it is done or released."""

    def __init__(
        self,
        jetstream: Callable[[], JetStreamContext],
        *,
        instance_name: str,
        bucket: str = streams.ALERTS_SENT_BUCKET,
    ) -> None:
        self._jetstream = jetstream
        self.instance_name = instance_name
        self.bucket = bucket
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._jetstream().key_value(self.bucket)
        return self._kv

    def _value(self, channel: str, alert_key: str, state: str, delivery: Delivery | None) -> bytes:
        record = {
            "channel": channel,
            "alert": alert_key,
            "state": state,
            "seq": delivery.seq if delivery else None,
            "delivery": delivery.number if delivery else None,
            "by": self.instance_name,
        }
        return json.dumps(record).encode()

    async def claim(self, channel: str, alert_key: str, delivery: Delivery | None) -> Ticket | None:
        """A ticket when this notifier is to send the alert (carried by `delivery`) on `channel`;
        None when another notifier has it (sent, or sending)."""
        key = record_key(channel, alert_key)
        value = self._value(channel, alert_key, SENDING, delivery)
        try:
            kv = await self._bucket()
            for _ in range(3):  # a record deleted or expired between the create and the get: create again
                try:
                    return Ticket(key, channel, alert_key, await kv.create(key, value))
                except KeyWrongLastSequenceError:
                    pass
                try:
                    entry = await kv.get(key)
                except KeyNotFoundError:
                    continue
                if not self._may_take_over(entry, delivery):
                    return None
                try:
                    revision = await kv.update(key, value, last=entry.revision)
                except KeyWrongLastSequenceError:
                    return None  # another notifier took it over first
                log.warning(
                    "alert %s on %s was being sent by a notifier that stopped before it finished: sending it",
                    alert_key,
                    channel,
                )
                return Ticket(key, channel, alert_key, revision)
            raise RuntimeError("the record kept changing")
        except Exception as exc:
            self._kv = None  # bind again next time: the bucket may have been re-created
            log.warning(
                "cannot record alert %s on %s in bucket %s (%s): "
                "sending it unchecked (another notifier may send it too)",
                alert_key,
                channel,
                self.bucket,
                _describe(exc),
            )
            return Ticket(key, channel, alert_key, None)

    def _may_take_over(self, entry: KeyValue.Entry, delivery: Delivery | None) -> bool:
        """Whether an existing record may be taken over: a `sending` record of an earlier delivery
        of this very message (two notifiers given the same delivery cannot both take it over)."""
        try:
            record = json.loads(entry.value or b"")
            return bool(
                record["state"] == SENDING
                and delivery is not None
                and record["seq"] == delivery.seq
                and record["delivery"] < delivery.number
            )
        except (ValueError, TypeError, KeyError):
            log.warning("record %s in bucket %s is not readable: taking it over", entry.key, self.bucket)
            return True

    async def settle(self, ticket: Ticket) -> None:
        """The channel is done with the alert (sent, or given up): later copies are duplicates."""
        if ticket.revision is None:
            return
        try:
            kv = await self._bucket()
            await kv.put(ticket.key, self._value(ticket.channel, ticket.alert_key, DONE, None))
        except Exception as exc:
            # The `sending` record stays: copies are still dropped, but a lost ack would send it again.
            log.warning("cannot mark alert %s on %s as done (%s)", ticket.alert_key, ticket.channel, _describe(exc))

    async def release(self, ticket: Ticket) -> None:
        """The alert was not sent (a shutdown interrupted it): let it be sent when it comes back."""
        if ticket.revision is None:
            return
        try:
            kv = await self._bucket()
            await kv.delete(ticket.key, last=ticket.revision)
        except Exception as exc:
            # The record stays `sending` for this message: its redelivery takes it over.
            log.warning("cannot release alert %s on %s (%s)", ticket.alert_key, ticket.channel, _describe(exc))


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
