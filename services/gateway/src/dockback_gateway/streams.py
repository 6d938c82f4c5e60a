"""The gateway owns DockBack's JetStream streams and KV buckets: it declares them at start."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from dockback_contracts import streams

log = logging.getLogger(__name__)


async def declare_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create every stream and bucket, or bring an existing one up to its current definition."""
    for config in streams.stream_configs(replicas):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
            log.info("created stream %s", config.name)
        else:
            await js.update_stream(config)
    for kv in streams.kv_configs(replicas):
        try:
            await js.key_value(kv.bucket)
        except (NotFoundError, BadRequestError):
            await js.create_key_value(kv)
            log.info("created KV bucket %s", kv.bucket)
