"""The notifier's FastStream application: the broker and its subscribers."""

from __future__ import annotations

import logging

from faststream import FastStream
from faststream.nats import NatsBroker

from dockback_notifier.settings import Settings


def build_app(settings: Settings) -> FastStream:
    """The application the entry point runs; it connects when started, not here."""
    broker = NatsBroker(
        settings.nats_url.split(","),
        user_credentials=str(settings.nats_credentials_file) if settings.nats_credentials_file else None,
        max_reconnect_attempts=-1,
        logger=logging.getLogger("dockback.notifier.broker"),
    )
    return FastStream(broker, logger=logging.getLogger("dockback.notifier"))
