"""How the gateway consumes facts from JetStream, with its ack policy chosen once.

- A body that is not a fact we know (a newer producer's type) is acked and ignored.
- A fact that fails validation is logged and dropped: no retry can fix it.
- A fact whose body speaks for another host than its subject's is refused, logged, counted
  and dropped (`provenance`): the subject is what the publisher's credentials allowed.
- A fact that fails to record (the database is away, a row it needs is not there yet) is
  nacked with the consumer's retry delay and comes back, until the budget is spent; then
  it is logged as an error and dropped.
FastStream's REJECT_ON_ERROR stays the subscriber's policy, but only a body that is not
JSON at all reaches it: every other exception is handled here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, Generic, TypeVar, Union

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from pydantic import Field, TypeAdapter, ValidationError

from dockback_contracts import events as ev
from dockback_contracts.streams import ConsumerSpec
from dockback_gateway import provenance

log = logging.getLogger(__name__)

E = TypeVar("E", bound=ev.Event)


class FactParser(Generic[E]):
    """Parses a decoded body into one of `types` (discriminated by `type`)."""

    def __init__(self, types: Iterable[type[E]]) -> None:
        self.types = members = tuple(types)
        union = Union[members]  # type: ignore[valid-type]  # noqa: UP007 - built at runtime
        self._adapter: TypeAdapter[E] = TypeAdapter(Annotated[union, Field(discriminator="type")])
        self._known = {t.model_fields["type"].default for t in self.types}

    def __call__(self, body: dict[str, Any]) -> E | None:
        """The fact in `body`, or None for a type not among ours; ValidationError if malformed."""
        if body.get("type") not in self._known:
            return None
        return self._adapter.validate_python(body)


def subscribe_facts(
    broker: NatsBroker,
    spec: ConsumerSpec,
    parse: Callable[[dict[str, Any]], E | None],
    record: Callable[[E], Awaitable[None]],
    *,
    what: str,
    description: str,
) -> ConsumerSpec:
    """Subscribe `record` to the durable consumer `spec`; returns the spec to create before start."""

    @broker.subscriber(
        spec.filter_subject,
        stream=JStream(spec.stream, declare=False),
        durable=spec.durable,
        config=spec.config,
        # nats-py's fetch of a batch, once a lingering pull has brought a first message, waits
        # for the rest of the batch until the fetch's timeout: on an idle stream a fact was
        # recorded up to `timeout` late (5 s, twice for facts split over two pulls: found as a
        # flaky security test). A short timeout bounds that wait; a backlog is still taken 20 at once.
        pull_sub=PullSub(batch_size=20, timeout=1.0),
        ack_policy=AckPolicy.REJECT_ON_ERROR,  # only reached by a body that is not JSON: see the module doc
        description=description,
    )
    async def on_fact(body: dict[str, Any], msg: NatsMessage) -> None:
        try:
            fact = parse(body)
        except ValidationError as exc:
            log.error("%s: dropping a malformed %s: %s", what, body.get("type"), exc)
            return
        if fact is None:
            return
        subject = msg.raw_message.subject
        if (foreign := provenance.foreign_to_subject(fact, subject)) is not None:
            provenance.refuse(fact, subject, "subject_host", foreign)
            return
        try:
            await record(fact)
        except Exception as exc:
            attempt = msg.raw_message.metadata.num_delivered
            delay = spec.retry.delay_after(attempt)
            about = f"{fact.type} of {getattr(fact, 'host_id', '?')}"
            if delay is None:
                log.error("%s: giving up on %s after %d attempts", what, about, attempt, exc_info=True)
                return
            log.warning("%s: %s not recorded (%s); retrying in %.0fs", what, about, exc, delay)
            raise NackMessage(delay=delay) from exc

    return spec
