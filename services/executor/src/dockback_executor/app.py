"""The executor process: connect to the engine and NATS, repair, subscribe, publish the inventory,
watch for cancelled jobs."""

from __future__ import annotations

import asyncio
import logging
import re
import signal

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from dockback_contracts import inventory as inv
from dockback_contracts import permissions
from dockback_executor.backup import BackupConfig, BackupService
from dockback_executor.consistency import ContainerStopper, own_container_id
from dockback_executor.discovery import Discovery
from dockback_executor.docker_api import DockerEngine
from dockback_executor.forget import ForgetService
from dockback_executor.handlers import register, register_questions
from dockback_executor.locks import InstanceLock, ResourceLocks, installation_id
from dockback_executor.metrics import observe_published
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import ResticRunner
from dockback_executor.restore import RestoreConfig, RestoreService
from dockback_executor.runner_strategy import PIPES, choose_runner, locate_data, remove_abandoned_fifos
from dockback_executor.settings import Settings
from dockback_executor.snapshot_download import SnapshotDownloads
from dockback_executor.snapshot_restore import SnapshotRestoreService
from dockback_executor.store import ArchiveStore
from dockback_executor.tar_inspect import ArchiveLimits
from dockback_executor.verify import ArchiveVerifier
from dockback_runtime.connection import service_broker
from dockback_runtime.jobs.announcer import Announcer
from dockback_runtime.jobs.cancellations import Cancellations
from dockback_runtime.jobs.runner import JobRunner
from dockback_runtime.jobs.worker import start_consumers
from dockback_runtime.logs import set_host_id
from dockback_runtime.metrics import sample_consumer_lag
from dockback_runtime.sealing import SealingKeyProblem, register_until_done, service_sealing_key
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)


DATA_DIR_LABEL = "dockback.data-dir"
INSTALLATION_LABEL = "dockback.installation"


def host_id_from_engine(engine_id: str) -> str:
    """A stable host id from the engine's ID (e.g. `ABCD:EFGH:...` -> `abcd-efgh-...`)."""
    token = re.sub(r"[^a-z0-9]+", "-", engine_id.lower()).strip("-")
    return (token or "docker-host")[:64]


class Executor:
    """Everything the executor runs, wired once at start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.instance = InstanceLock(settings.data_dir / ".locks")
        self.installation = installation_id(settings.data_dir)
        self.engine = DockerEngine(
            settings.docker_url,
            runner_labels={
                InstanceLock.LABEL: self.instance.instance_id,
                INSTALLATION_LABEL: self.installation,
                DATA_DIR_LABEL: str(settings.data_dir.resolve()),
            },
        )
        self.broker = service_broker(settings, "executor")
        self.stopped = asyncio.Event()
        self.sealing_key: X25519PrivateKey | None = None
        self.no_key_because = ""

    async def run(self) -> None:
        info = await self.engine.info()
        version = await self.engine.version()
        host_id = self.settings.host_id or host_id_from_engine(info.get("ID", ""))
        set_host_id(host_id)  # on every log line from now on
        role = permissions.host_role_name(permissions.EXECUTOR, host_id)
        try:
            # this executor's own key: its repositories' passwords are sealed to it, and nothing else is
            self.sealing_key = service_sealing_key(
                role, self.settings.nats_credentials_file, self.settings.settings_key_file
            )
        except SealingKeyProblem as exc:
            self.no_key_because = str(exc)
            log.warning("repository backups are off on this host: %s", exc)
        engine_info = inv.EngineInfo(
            engine_id=info.get("ID", ""),
            version=version.get("Version", ""),
            api_version=version.get("ApiVersion", ""),
            os=info.get("OperatingSystem", ""),
            architecture=info.get("Architecture", ""),
        )
        store = ArchiveStore(self.settings.data_dir)
        store.prepare()
        if abandoned := remove_abandoned_fifos(self.settings.data_dir / PIPES):
            log.info("removed %d FIFO(s) of jobs that ended with their executor", abandoned)
        locks = ResourceLocks(self.settings.data_dir / ".locks", self.settings.max_concurrent_jobs)
        stopper = ContainerStopper(
            self.engine,
            self.settings.data_dir / ".stopped",
            self.settings.stop_timeout_seconds,
            locks=self.settings.data_dir / ".locks",
            instance=self.instance,
        )
        # Beside the jobs: a container an executor that died left stopped may be held by a live
        # peer's job (it found it stopped), and is restarted after that job.
        repairing = asyncio.create_task(self._repair(stopper))
        await self._remove_orphan_runners()
        announcer = Announcer(self.broker, host_id, observe_published)
        own_container = own_container_id()
        runner_strategy = await choose_runner(self.engine, self.settings, own_container)
        restic = None
        if runner_strategy is not None:
            data = await locate_data(self.engine, self.settings.data_dir, self.settings.data_dir_source, own_container)
            restic = ResticRunner(self.engine, runner_strategy.image, data)
        repositories = RepositoryKeys(
            lambda: self.broker.connection.jetstream(), host_id, self.sealing_key, self.no_key_because
        )
        backups = BackupService(
            self.engine,
            store,
            locks,
            stopper,
            announcer,
            BackupConfig(
                host_id=host_id,
                engine_version=engine_info.version,
                allowed_bind_roots=tuple(self.settings.allowed_bind_roots),
                runner=runner_strategy,
                own_container_id=own_container,
                restic=restic,
                repositories=repositories,
            ),
        )
        limits = ArchiveLimits(
            max_entries=self.settings.restore_max_entries, max_total_bytes=self.settings.restore_max_bytes
        )
        verifier = ArchiveVerifier(store, announcer, host_id, limits)
        restores = RestoreService(
            self.engine, store, locks, announcer, RestoreConfig(host_id=host_id), verifier, backups
        )
        cancellations = Cancellations(lambda: self.broker.connection.jetstream())
        jobs = JobRunner("executor", announcer, cancellations)
        forgets = ForgetService(
            restic, repositories, announcer, host_id, self.settings.repository_prune_interval_seconds
        )
        specs = register(
            self.broker,
            host_id,
            jobs,
            backups,
            restores,
            verifier,
            forgets,
            SnapshotRestoreService(self.engine, restic, repositories, locks, announcer, host_id),
            self.settings,
            self.settings.max_concurrent_jobs,
        )
        downloads = SnapshotDownloads(restic, repositories, host_id, self.instance.instance_id)
        register_questions(self.broker, host_id, self.engine, restic, repositories, downloads)
        if not await start_consumers(self.broker, self.settings, specs, self.stopped, lambda: self._register_key(role)):
            await stop_loops(repairing)
            await downloads.close()
            await self.engine.close()
            return  # asked to stop while waiting for the streams
        js = self.broker.connection.jetstream()
        discovery = Discovery(
            self.engine,
            announcer,
            host_id,
            engine_info,
            jobs.jobs,
            self.settings.inventory_interval_seconds,
            self.settings.heartbeat_interval_seconds,
            data_dir=self.settings.data_dir,
            instance_id=self.instance.instance_id,
        )
        discovering = asyncio.create_task(discovery.run())
        watching = asyncio.create_task(cancellations.watch(jobs.cancel))
        lagging = asyncio.create_task(sample_consumer_lag(js, specs))
        log.info(
            "executor for host %s ready (engine %s, data dir %s, strategy %s)",
            host_id,
            engine_info.version,
            self.settings.data_dir,
            "runner" if runner_strategy is not None else "stream",
        )
        try:
            await self.stopped.wait()
        finally:
            log.info("stopping: giving running jobs %.0fs to finish", self.settings.shutdown_grace_seconds)
            # Heartbeats and the cancellation watch go on meanwhile: the host is alive and a
            # user can still cancel a job that is finishing.
            # Our own cancellation first, before the broker's: its anyio cancel scope would also
            # cancel the awaits in a job's cleanup (restarting the containers it stopped).
            await jobs.finish_or_hand_back(self.settings.shutdown_grace_seconds)
            await stop_loops(discovering, watching, lagging, repairing)
            await downloads.close()
            await self.broker.stop()
            await self.engine.close()
            self.instance.release()

    async def _register_key(self, role: str) -> bool:
        """Before the first job: the gateway seals this host's repositories to the key registered here."""
        if self.sealing_key is None:
            return True
        return await register_until_done(self.broker.connection.jetstream(), role, self.sealing_key, self.stopped)

    @staticmethod
    async def _repair(stopper: ContainerStopper) -> None:
        try:
            await stopper.repair()
        except Exception:
            log.exception("could not restart the containers an interrupted job left stopped")

    async def _remove_orphan_runners(self) -> None:
        """Remove runner containers whose executor died (SIGKILL, crash): they keep volumes busy."""
        for runner in await self.engine.runners():
            labels = runner.get("Labels") or {}
            # Another installation's runner is not ours to judge, even where its data dir has the
            # same path (inside another container). Runners made before the label: by the path.
            ours = labels.get(INSTALLATION_LABEL, self.installation) == self.installation
            if not ours or labels.get(DATA_DIR_LABEL) != str(self.settings.data_dir.resolve()):
                continue
            if InstanceLock.is_alive(self.settings.data_dir / ".locks", labels.get(InstanceLock.LABEL, "")):
                continue
            await self.engine.remove_container(runner["Id"], force=True)
            log.warning("removed runner container %s left by a stopped executor", runner["Id"][:12])


async def serve(settings: Settings) -> None:
    executor = Executor(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, executor.stopped.set)
    await executor.run()
