"""The preview's pure logic around the host's answer: what it asks the host about for each kind
of restore, and the inventory updated with the answer (an asked object missing from the answer
is gone, one in it replaces the inventory's entry, the others stay as reported)."""

from __future__ import annotations

from datetime import UTC, datetime

from dockback_contracts import events as ev
from dockback_contracts.control import TargetUsers, TargetUsersQuery
from dockback_contracts.inventory import ImageInfo, VolumeInfo, VolumeUser
from dockback_gateway.catalog.models import ArtifactKind
from dockback_gateway.restores.impact import touched, with_current
from gateway.restore_steps import HOST, inventory


def test_each_kind_of_restore_asks_about_what_it_would_write() -> None:
    volume = ev.RestoreTarget(kind="volume", name="pgdata")
    beside = ev.RestoreTarget(kind="container", name="db-copy")
    same = ev.RestoreTarget(kind="container", name="db", replace_existing=True)
    image = ev.RestoreTarget(kind="image", name="postgres:16")
    assert touched(ArtifactKind.VOLUME, "pgdata", volume) == TargetUsersQuery(volumes=("pgdata",))
    assert touched(ArtifactKind.CONFIG, "db", beside, ["pgdata", "logs"]) == TargetUsersQuery(
        containers=("db-copy",), volumes=("db-copy-pgdata", "db-copy-logs")
    )
    assert touched(ArtifactKind.CONFIG, "db", same, ["pgdata"]) == TargetUsersQuery(
        containers=("db",), volumes=("pgdata",)
    )
    assert touched(ArtifactKind.IMAGE, "postgres:16", image) == TargetUsersQuery(images=("postgres:16",))


def test_the_answer_replaces_what_was_asked_and_nothing_else() -> None:
    reported = inventory()
    worker = VolumeUser(container_id="beef", container_name="worker", running=True)
    answer = TargetUsers(
        host_id=HOST,
        volumes=(VolumeInfo(name="pgdata", driver="local", used_by=(worker,)),),
        checked_at=datetime.now(UTC),
    )
    asked = TargetUsersQuery(volumes=("pgdata", "spare"), containers=("db",), images=("postgres:16",))
    now = with_current(reported, asked, answer)
    assert [(v.name, [u.container_name for u in v.used_by]) for v in now.volumes] == [("pgdata", ["worker"])]
    assert now.containers == ()
    assert now.images == ()
    unasked = with_current(reported, TargetUsersQuery(images=("busybox:1",)), answer.model_copy(update={"volumes": ()}))
    assert unasked.volumes == reported.volumes
    assert unasked.containers == reported.containers
    assert unasked.images == reported.images
    loaded = ImageInfo(id="sha256:bb", tags=("busybox:1",), size_bytes=1)
    with_image = with_current(
        reported,
        TargetUsersQuery(images=("busybox:1",)),
        answer.model_copy(update={"images": (loaded,), "volumes": ()}),
    )
    assert with_image.images == (*reported.images, loaded)
