"""Which plans protect which resources of a host (pure logic, no I/O).

A plan protects what its selectors name, as the executor resolves them
(`TargetSelector.matches`). Only live, enabled plans of the resource's host count: a
disabled plan takes no backups.

- A container is protected by a plan with a container selector that matches it.
- A volume is protected by a plan with a volume selector that matches it, and also
  through every protected container that mounts it: backing up a container archives each
  of its volumes (`via` names that container).
- An image is protected by a plan with an image selector naming one of its tags or its
  id. Images carry no labels in the inventory, so an image label selector is not
  evaluated here (the executor resolves it when the job runs).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dockback_contracts.events import HostInventory, TargetSelector


@dataclass(frozen=True)
class PlanTargets:
    """What one plan selects, and on which host."""

    plan_id: uuid.UUID
    name: str
    host_id: str
    targets: tuple[TargetSelector, ...]

    def selects(self, kind: str, name: str, labels: dict[str, str]) -> bool:
        return any(t.matches(kind, name, labels) for t in self.targets)


@dataclass(frozen=True)
class Protection:
    plan_id: uuid.UUID
    plan_name: str
    via_container: str | None = None


@dataclass
class HostProtection:
    """The protections of each resource of one host, by resource name (images by id)."""

    containers: dict[str, list[Protection]] = field(default_factory=dict)
    volumes: dict[str, list[Protection]] = field(default_factory=dict)
    images: dict[str, list[Protection]] = field(default_factory=dict)


def protection_of(inventory: HostInventory, plans: Sequence[PlanTargets]) -> HostProtection:
    """Who protects what in `inventory`, given the host's live enabled `plans`."""
    found = HostProtection()
    selectors = _Selectors(plans)
    for container in inventory.containers:
        found.containers[container.name] = [
            Protection(p.plan_id, p.name) for p in selectors.selecting("container", [container.name], container.labels)
        ]
    mounted_by: dict[str, set[str]] = {}
    for container in inventory.containers:
        for mount in container.mounts:
            if mount.type == "volume":
                mounted_by.setdefault(mount.source, set()).add(container.name)
    for volume in inventory.volumes:
        direct = [Protection(p.plan_id, p.name) for p in selectors.selecting("volume", [volume.name], volume.labels)]
        users = mounted_by.get(volume.name, set()) | {u.container_name for u in volume.used_by}
        through = [
            Protection(protection.plan_id, protection.plan_name, via_container=user)
            for user in sorted(users)
            for protection in found.containers.get(user, ())
        ]
        found.volumes[volume.name] = _unique([*direct, *through])
    for image in inventory.images:
        found.images[image.id] = [
            Protection(p.plan_id, p.name) for p in selectors.selecting("image", [*image.tags, image.id], {})
        ]
    return found


class _Selectors:
    """The plans' selectors by kind and name: a resource is checked only against the plans that
    name it and those that select by labels or compose project, not against every plan of its
    host (with 20 plans and 100 resources a host, the dashboard checked 100,000 pairs a request)."""

    def __init__(self, plans: Sequence[PlanTargets]) -> None:
        self.plans = plans
        self.naming: dict[tuple[str, str], set[int]] = {}
        self.by_labels: dict[str, set[int]] = {}
        for index, plan in enumerate(plans):
            for target in plan.targets:
                if target.names:
                    for name in target.names:
                        self.naming.setdefault((target.kind, name), set()).add(index)
                else:
                    self.by_labels.setdefault(target.kind, set()).add(index)

    def selecting(self, kind: str, names: Iterable[str], labels: dict[str, str]) -> list[PlanTargets]:
        """The plans that select a resource of `kind` known by any of `names`, in their order."""
        candidates = set(self.by_labels.get(kind, ()))
        names = list(names)
        for name in names:
            candidates |= self.naming.get((kind, name), set())
        return [
            self.plans[index]
            for index in sorted(candidates)
            if any(self.plans[index].selects(kind, name, labels) for name in names)
        ]


def _unique(protections: Iterable[Protection]) -> list[Protection]:
    return list(dict.fromkeys(protections))
