"""What a restore would do to a host, judged from its latest inventory (pure logic).

It mirrors the executor's rules (`dockback_executor.restore`), so a preview refuses what the
executor would refuse, and says what it would overwrite and stop:

- a volume archive restores to a volume; onto an existing one only with `replace_existing`,
  and when containers use it only with `allow_stop` (they are recreated on the restored
  data, and those that ran are started again);
- a container's config restores to a container: under its original name it replaces the
  container and its volumes (with `replace_existing`; a running one only with
  `allow_stop`); under a new name it runs beside the original on volumes named
  `<new name>-<volume>`;
- an image archive is loaded (`docker load`) under the tags it was saved with, and tagged
  with the target's name when that is another one.

The inventory can be a little old: the preview asks the host for the current state of the
objects a restore touches (`touched`) and judges the inventory updated with its answer
(`with_current`); the executor checks again before it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dockback_contracts import events as ev
from dockback_contracts.control import TargetUsers, TargetUsersQuery
from dockback_gateway.catalog.models import ArtifactKind

TARGET_KIND = {ArtifactKind.VOLUME: "volume", ArtifactKind.CONFIG: "container", ArtifactKind.IMAGE: "image"}


class RestoreRefusal(Exception):
    """The restore cannot go ahead as asked; `field` names the input to change, if one."""

    def __init__(self, detail: str, *, conflict: bool, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.conflict = conflict  # True: the host's state stands in the way; False: the input is wrong
        self.field = field


@dataclass(frozen=True)
class Use:
    container_id: str
    container_name: str
    running: bool
    will_stop: bool


@dataclass(frozen=True)
class VolumeWrite:
    name: str
    exists: bool
    overwritten: bool
    used_by: tuple[Use, ...]


@dataclass
class Impact:
    target_exists: bool = False
    overwrites: bool = False
    container: Use | None = None
    volumes: list[VolumeWrite] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def stops(self) -> list[str]:
        names = [self.container.container_name] if self.container and self.container.will_stop else []
        for volume in self.volumes:
            names += [u.container_name for u in volume.used_by if u.will_stop and u.container_name not in names]
        return names


def assess(
    kind: ArtifactKind,
    original_name: str,
    target: ev.RestoreTarget,
    inventory: ev.HostInventory,
    sibling_volumes: Sequence[str] = (),
) -> Impact:
    """What restoring an archive of `kind` (of the resource `original_name`) to `target` does.

    `sibling_volumes`: for a container's config, the volumes backed up with it (restored too).
    Raises RestoreRefusal for what the executor would refuse.
    """
    expected = TARGET_KIND.get(kind)
    if expected is None:
        raise RestoreRefusal(f"{kind} archives cannot be restored by DockBack", conflict=False, field="artifact_id")
    if target.kind != expected:
        raise RestoreRefusal(
            f"a {kind} archive restores to a {expected}, not a {target.kind}", conflict=False, field="target.kind"
        )
    if kind == ArtifactKind.VOLUME:
        volume = _volume_write(target.name, target, inventory, leaving=())
        return Impact(target_exists=volume.exists, overwrites=volume.overwritten, volumes=[volume])
    if kind == ArtifactKind.CONFIG:
        return _container(original_name, target, inventory, sibling_volumes)
    return _image(target, inventory)


def _volume_write(
    name: str, target: ev.RestoreTarget, inventory: ev.HostInventory, leaving: Sequence[str]
) -> VolumeWrite:
    """Restoring into volume `name`; `leaving`: containers removed before (a replaced container)."""
    volume = next((v for v in inventory.volumes if v.name == name), None)
    if volume is None:
        return VolumeWrite(name, exists=False, overwritten=False, used_by=())
    if not target.replace_existing:
        raise RestoreRefusal(
            f"volume {name!r} exists on host {inventory.host_id}; restore into a new volume, or choose Original "
            "to replace its content with the restored data",
            conflict=True,
            field="target.replace_existing",
        )
    users = [u for u in volume.used_by if u.container_name not in leaving]
    if users and not target.allow_stop:
        in_use = ", ".join(f"{u.container_name} ({'running' if u.running else 'stopped'})" for u in users)
        raise RestoreRefusal(
            f"volume {name!r} is used by {in_use}; allow stopping them for the swap "
            "(they are started again afterwards), or restore into a new volume",
            conflict=True,
            field="target.allow_stop",
        )
    uses = tuple(Use(u.container_id, u.container_name, u.running, will_stop=u.running) for u in users)
    return VolumeWrite(name, exists=True, overwritten=True, used_by=uses)


def _container(
    original: str, target: ev.RestoreTarget, inventory: ev.HostInventory, sibling_volumes: Sequence[str]
) -> Impact:
    found = next((c for c in inventory.containers if c.name == target.name), None)
    impact = Impact(target_exists=found is not None)
    if found is not None:
        if not target.replace_existing:
            raise RestoreRefusal(
                f"container {target.name!r} exists on host {inventory.host_id}; restore under a new name, "
                "or choose Original to replace it",
                conflict=True,
                field="target.replace_existing",
            )
        running = found.state == "running"
        if running and not target.allow_stop:
            raise RestoreRefusal(
                f"container {target.name!r} is running; allow stopping it to replace it",
                conflict=True,
                field="target.allow_stop",
            )
        impact.overwrites = True
        impact.container = Use(found.id, found.name, running, will_stop=running)
    beside = target.name != original
    if beside:
        impact.notes.append(f"the container runs beside {original!r} on its own volumes, named {target.name}-<volume>")
    for volume in sibling_volumes:
        name = _restored_volume(original, target, volume)
        write = _volume_write(name, target, inventory, leaving=(target.name,))
        impact.volumes.append(write)
        impact.overwrites = impact.overwrites or write.overwritten
    return impact


def _restored_volume(original: str, target: ev.RestoreTarget, volume: str) -> str:
    """The volume a container's sibling volume is restored into: its own name, or beside the
    original container (restored under a new name) `<new name>-<volume>`."""
    return volume if target.name == original else f"{target.name}-{volume}"


def _image(target: ev.RestoreTarget, inventory: ev.HostInventory) -> Impact:
    exists = any(target.name in image.tags or image.id == target.name for image in inventory.images)
    impact = Impact(target_exists=exists, overwrites=exists)
    impact.notes.append(
        "docker load restores the image under the tags it was saved with; under another name it is also tagged"
        " with that name"
    )
    return impact


def touched(
    kind: ArtifactKind, original_name: str, target: ev.RestoreTarget, sibling_volumes: Sequence[str] = ()
) -> TargetUsersQuery:
    """The objects on the host whose state decides what the restore does: what the preview asks
    the host about (the names `assess` looks up)."""
    if kind == ArtifactKind.VOLUME:
        return TargetUsersQuery(volumes=(target.name,))
    if kind == ArtifactKind.CONFIG:
        volumes = tuple(_restored_volume(original_name, target, v) for v in sibling_volumes)
        return TargetUsersQuery(containers=(target.name,), volumes=volumes)
    if kind == ArtifactKind.IMAGE:
        return TargetUsersQuery(images=(target.name,))
    return TargetUsersQuery()


def with_current(inventory: ev.HostInventory, asked: TargetUsersQuery, answer: TargetUsers) -> ev.HostInventory:
    """The inventory with the asked objects as the host reported them just now: an asked object
    missing from the answer is gone, one in it is as it says (with its users now)."""
    images = tuple(
        image for image in inventory.images if not any(name in image.tags or name == image.id for name in asked.images)
    )
    return inventory.model_copy(
        update={
            "volumes": tuple(v for v in inventory.volumes if v.name not in asked.volumes) + answer.volumes,
            "containers": tuple(c for c in inventory.containers if c.name not in asked.containers) + answer.containers,
            "images": images + answer.images,
        }
    )


def describe(kind: ArtifactKind, target: ev.RestoreTarget, impact: Impact, host_id: str) -> str:
    """The plan of action in one sentence, for the person about to confirm it."""
    what = {ArtifactKind.VOLUME: "volume", ArtifactKind.CONFIG: "container", ArtifactKind.IMAGE: "image"}[kind]
    head = f"Restore {what} {target.name!r} on host {host_id}"
    if impact.overwrites:
        head += ", replacing what exists now"
    else:
        head += " as a new object; nothing existing is overwritten"
    if impact.stops:
        head += f"; stops and restarts {', '.join(repr(n) for n in impact.stops)}"
    return head + "."
