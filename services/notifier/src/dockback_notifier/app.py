"""The notifier process: connect to NATS, read the settings, create its consumers, subscribe,
run until stopped, then hand back or send what it holds."""

from __future__ import annotations

import asyncio
import logging
import signal

from dockback_contracts import permissions
from dockback_notifier.channels import ChannelSettings, PlanNames
from dockback_notifier.check import ChannelCheck
from dockback_notifier.dispatch import Dispatcher
from dockback_notifier.handlers import register
from dockback_notifier.sent import SentAlerts
from dockback_notifier.settings import Settings
from dockback_runtime.connection import own_inbox_for_pull_consumers, server_has_subscriptions, service_broker
from dockback_runtime.delivery import create_or_update_consumer
from dockback_runtime.metrics import sample_consumer_lag
from dockback_runtime.outbound import OutboundPolicy
from dockback_runtime.sealing import register_until_done, service_sealing_key
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)


class Notifier:
    """Everything the notifier runs, wired once at start. `stopped` ends it; `ready` says it listens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker = service_broker(settings, "notifier")
        self.stopped = asyncio.Event()
        self.ready = asyncio.Event()

        # the notifier's own key: its share of the settings (mail, webhooks) is sealed to it
        self.sealing_key = service_sealing_key(
            permissions.NOTIFIER, settings.nats_credentials_file, settings.settings_key_file
        )
        self.channels = ChannelSettings(
            self.sealing_key,
            window_seconds=settings.digest_window_seconds,
            smtp_timeout=settings.smtp_timeout_seconds,
            smtp_ca_file=settings.smtp_ca_file,
            webhook_timeout=settings.webhook_timeout_seconds,
            policy=OutboundPolicy(allow_private=settings.allow_private_targets),
        )
        # one record of sent alerts shared by both dispatchers; bound to the connection once it is up
        self.sent = SentAlerts(lambda: self.broker.connection.jetstream(), instance_name=settings.instance_name)
        self.dispatcher = Dispatcher(
            self.channels,
            self.sent,
            window_seconds=settings.digest_window_seconds,
            retry_delays=tuple(settings.delivery_retry_delays_seconds),
            capacity=settings.dedup_capacity,
            keep_alive_interval=settings.event_ack_wait_seconds / 3,
        )
        self.succeeded_digests = Dispatcher(
            self.channels,
            self.sent,
            window_seconds=settings.succeeded_digest_seconds,
            retry_delays=tuple(settings.delivery_retry_delays_seconds),
            capacity=settings.dedup_capacity,
            keep_alive_interval=settings.event_ack_wait_seconds / 3,
            succeeded_digests=True,
        )

    async def run(self) -> None:
        channels, dispatcher, digests = self.channels, self.dispatcher, self.succeeded_digests
        await self.broker.connect()
        watch: asyncio.Task[None] | None = None
        try:
            js = self.broker.connection.jetstream()
            if not await register_until_done(js, permissions.NOTIFIER, self.sealing_key, self.stopped):
                return
            specs = register(
                self.broker,
                dispatcher,
                digests,
                channels,
                PlanNames(js),
                ChannelCheck(channels, answered_by=self.settings.instance_name),
                self.settings.event_ack_wait_seconds,
            )
            watch = asyncio.create_task(channels.watch(js, self.stopped), name="settings-watch")
            # alerts taken before the settings are known would be dropped as "no channel"
            if not await self._until(channels.loaded):
                return
            for spec in specs:
                if not await create_or_update_consumer(js, spec, self.stopped):
                    return
            dispatcher.start()
            digests.start()
            own_inbox_for_pull_consumers(self.broker, self.settings)
            await self.broker.start()
            await server_has_subscriptions(self.broker.connection)  # a check sent next finds us
            self.ready.set()
            log.info("notifier ready (channels: %s)", ", ".join(channels.channel_names()) or "none")
            lagging = asyncio.create_task(sample_consumer_lag(js, specs))
            try:
                await self.stopped.wait()
            finally:
                await stop_loops(lagging)
        finally:
            # while connected: acks and nacks need the connection
            grace = self.settings.shutdown_grace_seconds
            await asyncio.gather(dispatcher.close(grace), digests.close(grace))
            await stop_loops(watch)
            await self.broker.stop()

    async def _until(self, event: asyncio.Event) -> bool:
        """Wait for `event`; False if asked to stop first."""
        stop = asyncio.create_task(self.stopped.wait())
        done = asyncio.create_task(event.wait())
        await asyncio.wait([stop, done], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        done.cancel()
        return event.is_set()


async def serve(settings: Settings) -> None:
    notifier = Notifier(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, notifier.stopped.set)
    await notifier.run()
