"""Host A's executor, on its own real NATS credentials, tries to take the Backups page's questions
about host B's snapshots: to hear which repository and snapshot a person browses on B, and to
answer in B's name with a listing of its own making, and to take the downloads of B's files (to
read which files a person downloads, and to hand them bytes of its own making). The secured
nats-server refuses each subscription, so a question about B's snapshots reaches B's executors only
(none here: nobody answers), while A may still take the questions about its own."""

from __future__ import annotations

import pytest
from nats.errors import NoRespondersError

from dockback_contracts import permissions, subjects
from dockback_contracts.control import SnapshotTree, SnapshotTreeQuery
from harness.secured_nats import HOST_A, HOST_B, SecuredNats, connected

QUERY = SnapshotTreeQuery(repository="plan-x", snapshot_id="c" * 64, volume="pgdata", path="/secrets")


async def test_a_host_answers_for_another_hosts_snapshots(secured_nats: SecuredNats) -> None:
    executor_a = permissions.host_role_name(permissions.EXECUTOR, HOST_A)
    async with (
        connected(secured_nats.settings(executor_a)) as host_a,
        connected(secured_nats.settings(permissions.GATEWAY)) as gateway,
    ):
        heard: list[bytes] = []

        async def answer_as_b(msg: object) -> None:
            heard.append(msg.data)  # type: ignore[attr-defined]
            forged = SnapshotTree(host_id=HOST_B, path="/secrets", entries=())
            await msg.respond(forged.model_dump_json().encode())  # type: ignore[attr-defined]

        await host_a.nc.subscribe(subjects.snapshot_tree(HOST_B), queue="executors", cb=answer_as_b)
        await host_a.refused("Subscription", subjects.snapshot_tree(HOST_B))
        own = await host_a.nc.subscribe(subjects.snapshot_tree(HOST_A), queue="executors", cb=answer_as_b)
        await host_a.nc.flush()

        with pytest.raises(NoRespondersError):
            await gateway.nc.request(subjects.snapshot_tree(HOST_B), QUERY.model_dump_json().encode(), timeout=2)
        assert heard == []  # A never heard the question about B
        await gateway.nc.request(subjects.snapshot_tree(HOST_A), QUERY.model_dump_json().encode(), timeout=2)
        assert heard == [QUERY.model_dump_json().encode()]  # its own host's question it does take
        await own.unsubscribe()


@pytest.mark.parametrize(
    "subject",
    [subjects.snapshot_download(HOST_B), subjects.snapshot_download_reader(HOST_B, "0123456789ab")],
    ids=["start", "read"],
)
async def test_a_host_takes_the_downloads_of_another_hosts_files(secured_nats: SecuredNats, subject: str) -> None:
    executor_a = permissions.host_role_name(permissions.EXECUTOR, HOST_A)
    async with (
        connected(secured_nats.settings(executor_a)) as host_a,
        connected(secured_nats.settings(permissions.GATEWAY)) as gateway,
    ):
        heard: list[bytes] = []

        async def forge(msg: object) -> None:
            heard.append(msg.data)  # type: ignore[attr-defined]
            await msg.respond(b"Dforged bytes")  # type: ignore[attr-defined]

        await host_a.nc.subscribe(subject, cb=forge)
        await host_a.refused("Subscription", subject)
        with pytest.raises(NoRespondersError):
            await gateway.nc.request(subject, b"{}", timeout=2)
        assert heard == []
