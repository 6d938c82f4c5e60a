"""Two executors for two host ids on one NATS and one Docker Engine (two hosts, simulated): each
takes only the jobs addressed to its host, and announces itself under its own id."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TypeVar

import nats
from nats.aio.msg import Msg

from cluster.conftest import Executors, archives_in, fill_volumes, parse_event, stage, within
from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_gateway.streams import declare_streams
from dockback_scheduler.publisher import Publisher

E = TypeVar("E", bound=ev.HostEvent)
HOSTS = ("host-a", "host-b")
VOLUMES = 3  # each host gets a backup of each: the same volumes, two hosts' jobs


async def test_each_of_two_hosts_runs_only_its_own_jobs_and_reports_under_its_own_id(
    nats_url: str,
    executors: Executors,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    volumes = [f"{unique_name}-{i}" for i in range(VOLUMES)]
    await fill_volumes(busybox_image, volumes, docker_labels, kib=64)
    client = await nats.connect(nats_url)
    js = client.jetstream()
    heard: list[tuple[str, ev.Event]] = []
    arrived = asyncio.Event()

    async def on_message(msg: Msg) -> None:
        heard.append((msg.subject, parse_event(msg.data)))
        arrived.set()

    def of(event_type: type[E]) -> list[tuple[str, E]]:
        return [(subject, e) for subject, e in heard if isinstance(e, event_type)]

    try:
        await declare_streams(js)
        for subject in ("dockback.events.>", "dockback.hosts.>"):
            await client.subscribe(subject, cb=on_message)
        data_dirs = {host: tmp_path / host / "data" for host in HOSTS}
        for host in HOSTS:
            executors.start(host, nats_url=nats_url, host_id=host, data_dir=data_dirs[host])
        requests = [
            ev.BackupRequested(
                job_id=uuid.uuid4(),
                host_id=host,
                resource=ev.ResourceRef(kind="volume", name=volume),
                requested_by="two-hosts-test",
            )
            for volume in volumes
            for host in HOSTS
        ]
        await Publisher(js).publish_all(requests)  # before the executors subscribe, or after: each finds its own
        host_of = {r.job_id: r.host_id for r in requests}

        def finished() -> bool:
            ended = {e.job_id for _, e in of(ev.ArchiveCreated) + of(ev.JobFailed)}
            announced = {(type(e), e.host_id) for _, e in of(ev.HostHeartbeat) + of(ev.HostInventory)}
            return set(host_of) <= ended and len(announced) == 2 * len(HOSTS)

        async with stage(60, "every job ended and both hosts reported", executors.logs):
            while not finished():
                arrived.clear()
                await arrived.wait()

        async def all_acked() -> bool:  # a job's message is acked just after its ArchiveCreated
            return (await js.stream_info(streams.JOBS_STREAM)).state.messages == 0

        await within(10, "every job's message acked", all_acked, executors.logs)
        consumers = {
            host: await js.consumer_info(
                streams.JOBS_STREAM, streams.executor_consumer(host, ev.BackupRequested).durable
            )
            for host in HOSTS
        }
    finally:
        await client.close()

    assert of(ev.JobFailed) == []
    assert {e.job_id for _, e in of(ev.JobStarted)} == set(host_of)
    assert {e.host_id for _, e in of(ev.HostHeartbeat) + of(ev.HostInventory)} == set(HOSTS)
    for event_type in (ev.JobStarted, ev.ArchiveCreated):
        for subject, event in of(event_type):
            assert isinstance(event, ev.JobEvent)
            assert event.job_id in host_of
            assert event.host_id == host_of[event.job_id], f"{event_type.__name__} of another host's job"
            assert subject == subjects.fact(event_type, host_of[event.job_id])
    for host in HOSTS:
        own = {str(job_id) for job_id, owner in host_of.items() if owner == host}
        assert set(archives_in(data_dirs[host])) == own, f"{host}'s data dir holds exactly its own jobs' archives"
        assert consumers[host].config.filter_subject == subjects.request(ev.BackupRequested, host)
        assert consumers[host].num_ack_pending == 0
        assert consumers[host].delivered.stream_seq > 0
        reported: tuple[type[ev.HostEvent], ...] = (ev.HostHeartbeat, ev.HostInventory)
        for report_type in reported:
            reports = [(subject, e) for subject, e in of(report_type) if e.host_id == host]
            assert reports, f"no {report_type.__name__} from {host}"
            assert {subject for subject, _ in reports} == {subjects.host_state(report_type, host)}
