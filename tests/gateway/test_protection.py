"""protection_of (pure logic): the index of selectors by kind and name finds exactly the plans
that checking every plan against every resource finds, in the same order."""

from __future__ import annotations

import random
import uuid

from dockback_contracts.events import TargetSelector
from dockback_gateway.resources.protection import PlanTargets, Protection, protection_of
from gateway.host_reports import container, inventory, volume


def naive(resources: list[tuple[str, str, dict[str, str]]], plans: list[PlanTargets]) -> list[list[uuid.UUID]]:
    return [[p.plan_id for p in plans if p.selects(kind, name, labels)] for kind, name, labels in resources]


def test_the_index_of_selectors_finds_what_checking_every_plan_finds() -> None:
    rng = random.Random(7)
    names = [f"r{n}" for n in range(12)]
    label_values = [{}, {"tier": "web"}, {"tier": "db"}, {"tier": "web", "team": "a"}]
    for _ in range(200):
        plans = []
        for n in range(rng.randint(0, 8)):
            targets = []
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(("volume", "container"))
                labels = rng.choice(label_values[1:])
                chosen = tuple(rng.sample(names, rng.randint(0, 3)))
                selector = {} if chosen and rng.random() < 0.5 else labels
                targets.append(
                    TargetSelector.model_validate({"kind": kind, "names": chosen, "label_selector": selector})
                )
            plans.append(PlanTargets(uuid.uuid4(), f"plan-{n}", "h1", tuple(targets)))
        containers = [
            container(name, labels=rng.choice(label_values), volumes=rng.sample(names, 2))
            for name in rng.sample(names, 4)
        ]
        volumes = [volume(name, labels=rng.choice(label_values)) for name in rng.sample(names, 6)]
        found = protection_of(inventory("h1", containers=containers, volumes=volumes), plans)
        expected_containers = naive([("container", c.name, dict(c.labels)) for c in containers], plans)
        assert [[p.plan_id for p in found.containers[c.name]] for c in containers] == expected_containers
        for v in volumes:
            direct = [p.plan_id for p in plans if p.selects("volume", v.name, dict(v.labels))]
            assert [p.plan_id for p in found.volumes[v.name] if p.via_container is None] == direct
            through = {
                Protection(p.plan_id, p.name, via_container=c.name)
                for c in containers
                if any(m.source == v.name for m in c.mounts)
                for p in plans
                if p.selects("container", c.name, dict(c.labels))
            }
            assert {p for p in found.volumes[v.name] if p.via_container is not None} == through
