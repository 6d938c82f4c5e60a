"""The uploader process: connect to NATS, create its consumers, subscribe, run until stopped.

It copies this host's new archives to S3 (`ArchiveCreated` -> `UploadCompleted`), prunes
local and remote copies (`PruneRequested`, and a person's `DeleteRequested` of one artifact),
fetches archives back for a restore (`FetchRequested` -> `RestoreRequested`) and answers
target checks (`CheckTarget`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from dockback_contracts import permissions
from dockback_runtime.connection import service_broker
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.cancellations import Cancellations
from dockback_runtime.jobs.runner import JobRunner
from dockback_runtime.jobs.worker import start_consumers
from dockback_runtime.metrics import sample_consumer_lag
from dockback_runtime.outbound import OutboundPolicy
from dockback_runtime.sealing import register_until_done, service_sealing_key
from dockback_runtime.tasks import stop_loops
from dockback_uploader.check import TargetCheck
from dockback_uploader.fetch import FetchService
from dockback_uploader.handlers import Services, register
from dockback_uploader.local_archives import LocalArchives
from dockback_uploader.local_copies import LocalCopiesPolicy
from dockback_uploader.metrics import observe_published
from dockback_uploader.prune import PruneService
from dockback_uploader.remote_prune import S3RemoteCopies
from dockback_uploader.settings import Settings
from dockback_uploader.targets import TargetSettings
from dockback_uploader.upload import UploadService

log = logging.getLogger(__name__)


class Uploader:
    """Everything the uploader runs, wired once at start. `stopped` ends it; `ready` says it listens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker = service_broker(settings, "uploader")
        self.stopped = asyncio.Event()
        self.ready = asyncio.Event()
        self.role = permissions.host_role_name(permissions.UPLOADER, settings.host_id)
        # this host's own key: its share of the settings is sealed to it, and nothing else is
        self.sealing_key = service_sealing_key(self.role, settings.nats_credentials_file, settings.settings_key_file)

    async def run(self) -> None:
        host_id = self.settings.host_id
        announcer = Announcer(self.broker, host_id, observe_published)
        archives = LocalArchives(self.settings.data_dir)
        targets = TargetSettings(
            lambda: self.broker.connection.jetstream(),
            host_id,
            self.sealing_key,
            OutboundPolicy(allow_private=self.settings.allow_private_targets),
        )
        services = Services(
            prunes=PruneService(archives, announcer, host_id, remote=S3RemoteCopies(targets)),
            uploads=UploadService(
                archives,
                targets,
                announcer,
                host_id,
                LocalCopiesPolicy(archives, targets, announcer),
                stale_upload_age=timedelta(seconds=self.settings.stale_upload_seconds),
            ),
            fetches=FetchService(archives, targets, announcer, host_id),
            checks=TargetCheck(targets, host_id),
        )
        cancellations = Cancellations(lambda: self.broker.connection.jetstream())
        runner = JobRunner("uploader", announcer, cancellations)
        specs = register(self.broker, host_id, runner, services, self.settings)
        try:
            if not await start_consumers(self.broker, self.settings, specs, self.stopped, self._register_key):
                return  # asked to stop while waiting for the streams
            self.ready.set()
            log.info("uploader for host %s ready (data dir %s)", self.settings.host_id, self.settings.data_dir)
            watching = asyncio.create_task(cancellations.watch(runner.cancel))
            lagging = asyncio.create_task(sample_consumer_lag(self.broker.connection.jetstream(), specs))
            try:
                await self.stopped.wait()
            finally:
                # The cancellation watch goes on while running jobs finish: a user can still cancel one.
                await runner.finish_or_hand_back(self.settings.shutdown_grace_seconds)
                await stop_loops(watching, lagging)
        finally:
            # Before the broker's own stop, which would cancel the jobs without handing them back
            # (a no-op when they are already done).
            await runner.finish_or_hand_back(self.settings.shutdown_grace_seconds)
            await self.broker.stop()

    async def _register_key(self) -> bool:
        """Before the first job: the gateway seals this host's settings to the key registered here."""
        js = self.broker.connection.jetstream()
        return await register_until_done(js, self.role, self.sealing_key, self.stopped)


async def serve(settings: Settings) -> None:
    uploader = Uploader(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, uploader.stopped.set)
    await uploader.run()
