"""How the jobs domain records facts (see `dockback_gateway.recording`): idempotent handlers
that run in the recorder's transaction."""

from __future__ import annotations

from dockback_contracts import events as ev
from dockback_gateway.recording import Handler

HANDLERS: dict[type[ev.Event], list[Handler]] = {}
