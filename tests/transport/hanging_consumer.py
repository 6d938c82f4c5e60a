"""A consumer process that takes one job and hangs: the SIGKILL test kills it mid-message.

Usage: python hanging_consumer.py NATS_URL HOST_ID ACK_WAIT
It reports each delivery on the core subject `probe.received` (the delivery count).
"""

from __future__ import annotations

import asyncio
import sys

from faststream import AckPolicy, FastStream
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from dockback_contracts import events, streams


def main(nats_url: str, host_id: str, ack_wait: float) -> None:
    spec = streams.executor_consumer(host_id, events.BackupRequested).with_ack_wait(ack_wait)
    broker = NatsBroker(nats_url)

    @broker.subscriber(
        spec.filter_subject,
        stream=JStream(spec.stream, declare=False),
        durable=spec.durable,
        config=spec.config,
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def take_and_hang(event: events.BackupRequested, msg: NatsMessage) -> None:
        await broker.publish(str(msg.raw_message.metadata.num_delivered), "probe.received")
        await asyncio.Event().wait()  # never finishes: the test kills us here

    asyncio.run(FastStream(broker).run())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
