"""The gateway owns DockBack's JetStream streams and KV buckets: it declares them at start."""

from __future__ import annotations

import dataclasses
import logging

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
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
        else:
            await _allow_direct_get(js, kv)


async def _allow_direct_get(js: JetStreamContext, kv: KeyValueConfig) -> None:
    """A bucket made before it was read by direct get (whose subject names the key, so a role's
    permissions can name the keys it may read) gets direct get switched on."""
    if not kv.direct:
        return
    info = await js.stream_info(f"KV_{kv.bucket}")
    if not info.config.allow_direct:
        await js.update_stream(dataclasses.replace(info.config, allow_direct=True))
        log.info("KV bucket %s: direct get enabled", kv.bucket)
