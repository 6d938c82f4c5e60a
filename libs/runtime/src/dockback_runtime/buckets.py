"""Reading a KV bucket's current content through a nats-py watch, and knowing when it has all
arrived.

nats-py marks "the initial values are all here" with a `None` entry, which it puts as soon as
the consumer's info says nothing is pending and the client has received nothing. The server
counts entries as delivered once it has sent them, so on a busy machine the marker comes while
they are still on their way: a reader that stops there (or says it is ready) misses entries
that exist. (Found as a scheduler that started without the watermark a test had written.)

Instead: each entry's metadata says how many were still pending after it (`delta`), so the
content as of the watch's start is all here at the first entry whose delta is 0, or at once
when the bucket's stream holds no message. Delete markers must be watched too (no
`ignore_deletes`: nats-py swallows them and puts its marker instead).
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from dockback_contracts.permissions import kv_stream


async def holds_nothing(js: JetStreamContext, bucket: str) -> bool:
    """Whether the bucket's stream holds no message at all (a watch of it delivers nothing)."""
    info = await js.stream_info(kv_stream(bucket))
    return info.state.messages == 0


async def key_is_absent(kv: KeyValue, key: str) -> bool:
    """Whether the key has no value now (never written, or deleted): a watch of it may deliver
    nothing, or only the delete marker."""
    try:
        await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return True
    return False


def is_caught_up(entry: KeyValue.Entry) -> bool:
    """Whether a watched entry is the last of what the bucket held when the watch began (or a
    later one): nothing was pending after it when it was delivered."""
    return entry.delta == 0
