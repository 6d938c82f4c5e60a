"""The uploader's subscribers: thin, each job settling its message through the job-worker kit's
JobRunner (the ack policy: dockback_runtime.jobs.runner); target checks answer on request/reply."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.nats import NatsBroker, NatsMessage

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.control import CheckResult, CheckTarget
from dockback_contracts.streams import ConsumerSpec
from dockback_runtime.jobs.runner import JobRunner
from dockback_runtime.jobs.settings import JobWorkerSettings
from dockback_runtime.jobs.worker import subscribe_job
from dockback_uploader.check import TargetCheck
from dockback_uploader.fetch import FetchService
from dockback_uploader.prune import PruneService
from dockback_uploader.upload import UploadService


@dataclass(frozen=True)
class Services:
    prunes: PruneService
    uploads: UploadService
    fetches: FetchService
    checks: TargetCheck


def register(
    broker: NatsBroker, host_id: str, runner: JobRunner, services: Services, settings: JobWorkerSettings
) -> list[ConsumerSpec]:
    """Subscribe to this host's requests; returns the consumers to create before starting."""
    prune_spec = settings.job_consumer(streams.uploader_prune_consumer(host_id))
    archive_spec = settings.job_consumer(streams.uploader_archive_consumer(host_id))
    fetch_spec = settings.job_consumer(streams.uploader_fetch_consumer(host_id))
    delete_spec = settings.job_consumer(streams.uploader_delete_consumer(host_id))

    async def on_prune_requested(event: ev.PruneRequested, msg: NatsMessage) -> None:
        """Delete this host's copies of the listed artifacts, after proving each is in the request's scope."""
        await runner.settle(
            event, msg, prune_spec, "prune", "prune", lambda request, _attempt: services.prunes.run(request)
        )

    async def on_delete_requested(event: ev.DeleteRequested, msg: NatsMessage) -> None:
        """Delete this host's copies of the one artifact a person chose, after proving each file is that artifact."""
        await runner.settle(
            event, msg, delete_spec, "prune", "prune", lambda request, _attempt: services.prunes.run(request)
        )

    async def on_archive_created(event: ev.ArchiveCreated, msg: NatsMessage) -> None:
        """Copy a new archive to each of its S3 targets, verify each copy, announce UploadCompleted."""
        await runner.settle(
            event, msg, archive_spec, "backup", "upload", lambda request, _attempt: services.uploads.run(request)
        )

    async def on_fetch_requested(event: ev.FetchRequested, msg: NatsMessage) -> None:
        """Download an archive from a remote copy, verify it, then hand its restore to the executor."""
        delivery = msg.raw_message.metadata.sequence.stream
        await runner.settle(
            event,
            msg,
            fetch_spec,
            "restore",
            "prepare",
            lambda request, _attempt: services.fetches.run(request, delivery),
        )

    subscribe_job(broker, prune_spec, on_prune_requested)
    subscribe_job(broker, archive_spec, on_archive_created)
    subscribe_job(broker, fetch_spec, on_fetch_requested)
    subscribe_job(broker, delete_spec, on_delete_requested)

    async def on_check_target(request: CheckTarget) -> CheckResult:
        """Say whether an S3 target is reachable from this host with its credentials and its bucket exists."""
        return await services.checks.run(request)

    broker.subscriber(subjects.check_target(host_id), queue="uploaders", description=on_check_target.__doc__)(
        on_check_target
    )
    return [prune_spec, archive_spec, fetch_spec, delete_spec]
