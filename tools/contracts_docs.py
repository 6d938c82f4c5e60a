"""Write the JSON Schema of every event and snapshot, and the AsyncAPI document, into a folder.

Usage: python tools/contracts_docs.py docs      (what `make contracts-docs` runs)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

import dockback_contracts
from dockback_contracts import events as ev
from dockback_contracts import snapshots, subjects

HOST = "{host_id}"
JOB = "{job_id}"


def channel(event_type: type[ev.Event]) -> str:
    """The subject of an event type, with placeholders for the host and job."""
    if event_type in ev.REQUESTS:
        return subjects.request(event_type, HOST)
    if event_type in (ev.HostInventory, ev.HostHeartbeat):
        return subjects.host_state(event_type, HOST)
    if event_type is ev.JobProgress:
        return subjects.progress(HOST, JOB)
    return subjects.fact(event_type, HOST)


def asyncapi_document() -> str:
    """AsyncAPI 3 for every channel: one publisher per event, described by its model."""
    broker = NatsBroker()
    for event_type in ev.ALL_EVENTS:
        broker.publisher(
            channel(event_type),
            schema=event_type,
            title=event_type.__name__,
            description=(event_type.__doc__ or "").strip(),
        )
    spec = AsyncAPI(
        broker,
        title="DockBack events",
        version=dockback_contracts.__version__,
        description="Every event DockBack's services exchange over NATS JetStream.",
    )
    return json.dumps(json.loads(spec.to_specification().to_json()), indent=2, sort_keys=True) + "\n"


def json_schemas() -> dict[str, str]:
    """File name -> JSON Schema, for every event and snapshot model."""
    models: list[type[BaseModel]] = [*ev.ALL_EVENTS, snapshots.PlanSnapshot, snapshots.SettingsSnapshot]
    return {
        f"{m.__name__}.schema.json": json.dumps(m.model_json_schema(), indent=2, sort_keys=True) + "\n" for m in models
    }


def write(folder: Path) -> list[Path]:
    written = []
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    for name, text in json_schemas().items():
        path = folder / "schemas" / name
        path.write_text(text)
        written.append(path)
    path = folder / "asyncapi.json"
    path.write_text(asyncapi_document())
    written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(p)
