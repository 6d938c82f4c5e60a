"""Small facts about the snapshots the gateway keeps in JetStream KV buckets."""

from __future__ import annotations

import json
from typing import Any


def revision_of(payload: bytes | None) -> int:
    """The `revision` of a stored snapshot; 0 when unreadable (any real snapshot replaces it)."""
    try:
        value: Any = json.loads(payload or b"")
        return int(value["revision"])
    except (ValueError, TypeError, KeyError):
        return 0
