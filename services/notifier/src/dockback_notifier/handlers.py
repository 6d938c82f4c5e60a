"""The notifier's subscribers: thin, each with its ack policy chosen on purpose.

Alert facts are consumed with AckPolicy.MANUAL: the handler hands the alert and its message
to the dispatcher and returns, and the dispatcher acks the message once every channel has
its alert (sent, collected into a digest that was sent, or given up after the retries), or
nacks it on shutdown. A message that fails validation can never be handled: it is
terminated (and logged) by `TerminateMalformed`, since MANUAL would otherwise leave it
to come back after every ack_wait.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream import AckPolicy, BaseMiddleware, StreamMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, NatsRouter, PullSub
from pydantic import ValidationError

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.control import CheckChannel, CheckResult
from dockback_contracts.streams import ConsumerSpec
from dockback_notifier import alerts
from dockback_notifier.channels import ChannelSettings, PlanNames
from dockback_notifier.check import ChannelCheck
from dockback_notifier.dispatch import Dispatcher
from dockback_notifier.sent import Delivery
from dockback_runtime.logs import bind_job

log = logging.getLogger(__name__)


class TerminateMalformed(BaseMiddleware):
    """Terminates a JetStream message whose body is not the event its subscriber expects."""

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        try:
            return await call_next(msg)
        except ValidationError as exc:
            log.error("terminating a malformed message (%d validation errors)", exc.error_count())
            await msg.reject()
            return None


def delivery_of(msg: NatsMessage) -> Delivery | None:
    """The message's stream sequence and delivery count: tell a redelivery from another copy of a fact."""
    try:
        metadata = msg.raw_message.metadata
        return Delivery(seq=metadata.sequence.stream, number=metadata.num_delivered)
    except (ValueError, AttributeError, TypeError):  # not a JetStream delivery: nothing to compare
        return None


def register(
    broker: NatsBroker,
    dispatcher: Dispatcher,
    succeeded_digests: Dispatcher,
    channels: ChannelSettings,
    plan_names: PlanNames,
    checks: ChannelCheck,
    ack_wait: float,
) -> list[ConsumerSpec]:
    """Subscribe to the alert-worthy facts and the channel checks; returns the consumers to create first."""
    failed_spec = streams.notifier_consumer(ev.JobFailed).with_ack_wait(ack_wait)
    missed_spec = streams.notifier_consumer(ev.RunMissed).with_ack_wait(ack_wait)
    succeeded_spec = streams.notifier_consumer(ev.JobSucceeded).with_ack_wait(ack_wait)

    async def on_job_failed(event: ev.JobFailed, msg: NatsMessage) -> None:
        """Alert every channel that a job failed (a failed verification is a failed job of kind verify)."""
        bind_job(str(event.job_id))
        plan_name = await plan_names.name_of(event.plan_id)
        await dispatcher.submit(alerts.job_failed(event, plan_name, channels.ui_base_url), msg, delivery_of(msg))

    async def on_run_missed(event: ev.RunMissed, msg: NatsMessage) -> None:
        """Alert every channel that a plan's scheduled run did not happen."""
        plan_name = event.plan_name or await plan_names.name_of(event.plan_id)
        await dispatcher.submit(alerts.run_missed(event, plan_name, channels.ui_base_url), msg, delivery_of(msg))

    async def on_job_succeeded(event: ev.JobSucceeded, msg: NatsMessage) -> None:
        """Collect a succeeded job for the digests of the channels that want them (never a failure alert)."""
        bind_job(str(event.job_id))
        plan_name = await plan_names.name_of(event.plan_id)
        alert = alerts.job_succeeded(event, plan_name, channels.ui_base_url)
        await succeeded_digests.submit(alert, msg, delivery_of(msg))

    facts = NatsRouter(middlewares=[TerminateMalformed])
    for spec, handler in (
        (failed_spec, on_job_failed),
        (missed_spec, on_run_missed),
        (succeeded_spec, on_job_succeeded),
    ):
        facts.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=spec.config,
            # nats-py's batch fetch waits for a full batch until its timeout once a first fact
            # came: a short timeout bounds how late an alert leaves an idle stream (as the gateway's).
            pull_sub=PullSub(batch_size=10, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,  # the dispatcher settles the message: see module doc
            description=handler.__doc__,
        )(handler)
    broker.include_router(facts)

    async def on_check_channel(request: CheckChannel) -> CheckResult:
        """Send a test alert through the SMTP channel or one webhook and say how it went."""
        return await checks.run(request)

    broker.subscriber(subjects.CHECK_CHANNEL, queue="notifiers", description=on_check_channel.__doc__)(on_check_channel)
    return [failed_spec, missed_spec, succeeded_spec]
