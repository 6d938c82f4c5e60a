"""The notifier's subscribers: thin, each with its ack policy chosen on purpose.

Alert facts are consumed with AckPolicy.MANUAL: the handler hands the alert and its message
to the dispatcher and returns, and the dispatcher acks the message once every channel has
its alert (sent, collected into a digest that was sent, or given up after the retries), or
nacks it on shutdown. A message that fails validation is not acked: it is redelivered after
ack_wait until the consumer's max_deliver, each time logged by FastStream.
"""

from __future__ import annotations

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.control import CheckChannel, CheckResult
from dockback_contracts.streams import ConsumerSpec
from dockback_notifier import alerts
from dockback_notifier.channels import ChannelSettings, PlanNames
from dockback_notifier.check import ChannelCheck
from dockback_notifier.dispatch import Dispatcher


def register(
    broker: NatsBroker,
    dispatcher: Dispatcher,
    channels: ChannelSettings,
    plan_names: PlanNames,
    checks: ChannelCheck,
    ack_wait: float,
) -> list[ConsumerSpec]:
    """Subscribe to the alert-worthy facts and the channel checks; returns the consumers to create first."""
    failed_spec = streams.notifier_consumer(ev.JobFailed).with_ack_wait(ack_wait)
    missed_spec = streams.notifier_consumer(ev.RunMissed).with_ack_wait(ack_wait)

    async def on_job_failed(event: ev.JobFailed, msg: NatsMessage) -> None:
        """Alert every channel that a job failed (a failed verification is a failed job of kind verify)."""
        plan_name = await plan_names.name_of(event.plan_id)
        await dispatcher.submit(alerts.job_failed(event, plan_name, channels.ui_base_url), msg)

    async def on_run_missed(event: ev.RunMissed, msg: NatsMessage) -> None:
        """Alert every channel that a plan's scheduled run did not happen."""
        plan_name = event.plan_name or await plan_names.name_of(event.plan_id)
        await dispatcher.submit(alerts.run_missed(event, plan_name, channels.ui_base_url), msg)

    for spec, handler in ((failed_spec, on_job_failed), (missed_spec, on_run_missed)):
        broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=spec.config,
            pull_sub=PullSub(batch_size=10, timeout=5.0),
            ack_policy=AckPolicy.MANUAL,  # the dispatcher settles the message: see module doc
            description=handler.__doc__,
        )(handler)

    async def on_check_channel(request: CheckChannel) -> CheckResult:
        """Send a test alert through the SMTP channel or one webhook and say how it went."""
        return await checks.run(request)

    broker.subscriber(subjects.CHECK_CHANNEL, queue="notifiers", description=on_check_channel.__doc__)(on_check_channel)
    return [failed_spec, missed_spec]
