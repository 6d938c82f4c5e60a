"""Which resources a plan's target selectors name on this host, resolved when the job runs.

What a selector matches is `TargetSelector.matches` (contracts), the gateway's definition
too: a selector with names matches exactly those (and, if it also has labels or a compose
project, only those of them that carry them); one with labels and/or a compose project
matches every resource of its kind that has all of them, so a resource created after the
plan joins it at the next run. The result is de-duplicated and in a stable order:
selector by selector, names as given, matches sorted by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockback_contracts.events import ResourceRef, TargetSelector
from dockback_executor.docker_api import RUNNER_LABEL, DockerEngine
from dockback_executor.errors import ResourceMissing


@dataclass
class Resolution:
    """What the selectors matched, and the named resources that are not there as named."""

    found: list[ResourceRef] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "volume 'x' does not exist", in words

    def add(self, resource: ResourceRef) -> None:
        if resource not in self.found:
            self.found.append(resource)


async def resolve(engine: DockerEngine, selectors: Sequence[TargetSelector]) -> Resolution:
    """The resources `selectors` name on the engine now."""
    resolution = Resolution()
    listed: dict[str, list[tuple[str, Mapping[str, str]]]] = {}
    for selector in selectors:
        if selector.names:
            for name in selector.names:
                try:
                    labels = await _labels_of(engine, selector.kind, name)
                except ResourceMissing:
                    resolution.missing.append(f"{selector.kind} {name!r} does not exist")
                    continue
                if selector.matches(selector.kind, name, labels):
                    resolution.add(ResourceRef(kind=selector.kind, name=name))
                else:
                    resolution.missing.append(f"{selector.kind} {name!r} does not have {describe_labels(selector)}")
            continue
        if selector.kind not in listed:
            listed[selector.kind] = await _listing(engine, selector.kind)
        for name, labels in sorted(listed[selector.kind], key=lambda item: item[0]):
            if selector.matches(selector.kind, name, labels):
                resolution.add(ResourceRef(kind=selector.kind, name=name))
    return resolution


def describe(selector: TargetSelector) -> str:
    """A selector in words: `names a, b`, `label backup=nightly`, `compose project shop`."""
    if selector.names:
        named = "name " if len(selector.names) == 1 else "names "
        text = named + ", ".join(selector.names)
        return f"{text} with {describe_labels(selector)}" if selector.wanted_labels() else text
    return describe_labels(selector)


def describe_labels(selector: TargetSelector) -> str:
    parts = [f"label {key}={value}" for key, value in sorted(selector.label_selector.items())]
    if selector.compose_project is not None:
        parts.append(f"compose project {selector.compose_project}")
    return " and ".join(parts)


def nothing_matched(selectors: Sequence[TargetSelector], whose: str, host_id: str) -> str:
    """Why a job has nothing to back up, in words a person can act on."""
    kinds = sorted({s.kind for s in selectors})
    what = kinds[0] if len(kinds) == 1 else "resource"
    details = "; ".join(describe(s) if len(kinds) == 1 else f"{s.kind} with {describe(s)}" for s in selectors)
    return f"{whose} targets match no {what} on host {host_id}: {details}"


async def _labels_of(engine: DockerEngine, kind: str, name: str) -> Mapping[str, str]:
    if kind == "volume":
        return (await engine.volume(name)).get("Labels") or {}
    if kind == "container":
        return ((await engine.inspect_container(name)).get("Config") or {}).get("Labels") or {}
    return ((await engine.inspect_image(name)).get("Config") or {}).get("Labels") or {}


async def _listing(engine: DockerEngine, kind: str) -> list[tuple[str, Mapping[str, str]]]:
    """(name, labels) of every resource of `kind`; DockBack's own runner containers left out."""
    if kind == "volume":
        return [(v["Name"], v.get("Labels") or {}) for v in await engine.volumes()]
    if kind == "container":
        return [
            (_container_name(c), c.get("Labels") or {})
            for c in await engine.containers()
            if RUNNER_LABEL not in (c.get("Labels") or {})
        ]
    images = []
    for image in await engine.images():
        tags = [t for t in image.get("RepoTags") or () if t != "<none>:<none>"]
        images.append((tags[0] if tags else image["Id"], image.get("Labels") or {}))
    return images


def _container_name(container: Mapping[str, Any]) -> str:
    return str((container.get("Names") or ["/" + container["Id"][:12]])[0]).lstrip("/")
