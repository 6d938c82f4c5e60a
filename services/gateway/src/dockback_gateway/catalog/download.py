"""Downloading files of a snapshot: the snapshot's host (its executor runs `restic dump` in a
runner) sends one file as it is, or a tar of the chosen files and directories, in chunks the
gateway pulls one after the other (one asked ahead) while it streams them to the browser: memory
stays flat whatever the size, and a browser that reads slowly slows restic down.

A download that breaks off (restic failed, the host went away) ends the response without its
proper end (a file short of its Content-Length, a chunked tar without its last chunk), so neither
a browser nor a script takes it for complete."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import anyio
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import subjects
from dockback_contracts.control import (
    SNAPSHOT_DOWNLOAD_MOST_PATHS,
    SnapshotDownloadOpen,
    SnapshotDownloadOpened,
    SnapshotDownloadRead,
)
from dockback_gateway.catalog.models import Artifact
from dockback_gateway.catalog.tree import HostUnavailable, ask_host, check_path, volume_snapshot
from dockback_gateway.errors import Invalid

log = logging.getLogger(__name__)

READ_SECONDS = 30.0
"""How long the host may take for the next chunk (restic reading a large pack from a slow disk)."""


class DownloadBrokeOff(Exception):
    """The host could not send the rest of a download that had started."""


@dataclass(frozen=True)
class Download:
    artifact: Artifact
    opened: SnapshotDownloadOpened
    paths: tuple[str, ...]

    @property
    def media_type(self) -> str:
        return "application/x-tar" if self.opened.tar else "application/octet-stream"

    @property
    def content_disposition(self) -> str:
        """`attachment` with the file's name, plain ASCII beside the exact UTF-8 (RFC 6266)."""
        name = self.opened.file_name or "download"
        plain = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "download"
        return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


async def open_download(
    db: AsyncSession, connection: NatsClient | None, artifact_id: uuid.UUID, paths: Sequence[str]
) -> Download:
    """Ask the snapshot's host to start sending `paths` (from the volume's root) of a volume's snapshot."""
    artifact = await volume_snapshot(db, artifact_id)
    if not paths:
        raise Invalid("path: choose at least one file or directory")
    if len(paths) > SNAPSHOT_DOWNLOAD_MOST_PATHS:
        raise Invalid(f"path: at most {SNAPSHOT_DOWNLOAD_MOST_PATHS} files and directories at once")
    for path in paths:
        check_path(path, "path")
    assert artifact.repository is not None
    assert artifact.snapshot_id is not None
    request = SnapshotDownloadOpen(
        download_id=uuid.uuid4().hex,
        repository=artifact.repository,
        snapshot_id=artifact.snapshot_id,
        volume=artifact.role,
        paths=tuple(p or "/" for p in paths),
    )
    host = artifact.host_id
    opened = await ask_host(connection, host, subjects.snapshot_download(host), request, SnapshotDownloadOpened)
    if opened.download_id != request.download_id:
        raise HostUnavailable(f"host {host} answered for download {opened.download_id}, not this one")
    if opened.problem:
        raise HostUnavailable(f"host {host} could not start the download: {opened.problem}")
    if opened.reader is None or not opened.reader.startswith(subjects.snapshot_download(host) + "."):
        raise HostUnavailable(f"host {host} named no reader of its own for the download")
    return Download(artifact, opened, request.paths)


async def chunks(connection: NatsClient, download: Download) -> AsyncIterator[bytes]:
    """The download's bytes as the host sends them, the next chunk asked for while this one goes
    out. DownloadBrokeOff when the host cuts it short; the host is told when the browser goes."""
    opened = download.opened
    assert opened.reader is not None
    reader = opened.reader
    offset = 0

    async def read(at: int) -> bytes:
        ask = SnapshotDownloadRead(download_id=opened.download_id, offset=at)
        try:
            reply = await connection.request(reader, ask.model_dump_json().encode(), timeout=READ_SECONDS)
        except Exception as exc:  # no answer in time, the connection lost: the download is cut
            raise DownloadBrokeOff(f"host {opened.host_id} sent nothing more after {at} bytes ({exc!r})") from exc
        return bytes(reply.data)

    pending: asyncio.Future[bytes] = asyncio.ensure_future(read(0))
    ended = False
    try:
        while True:
            frame = await pending
            if frame[:1] == b"W":  # restic has not sent more yet: ask again
                pending = asyncio.ensure_future(read(offset))
                continue
            if frame[:1] == b"D":
                offset += len(frame) - 1
                pending = asyncio.ensure_future(read(offset))
                yield frame[1:]
                continue
            ended = True
            if frame[:1] != b"E":
                raise DownloadBrokeOff(frame[1:].decode(errors="replace") or "the host sent an unreadable answer")
            if opened.size is not None and offset != opened.size:
                raise DownloadBrokeOff(f"the host ended the file after {offset} of its {opened.size} bytes")
            return
    finally:
        # shielded: the browser's going away cancels the response's task, and would cancel these
        # awaits too (anyio delivers a cancellation at each), leaving restic running on the host
        with anyio.CancelScope(shield=True):
            if not ended:  # the browser went away, or a read failed: the host ends it and its restic now
                with contextlib.suppress(Exception):
                    close = SnapshotDownloadRead(download_id=opened.download_id, offset=offset, close=True)
                    await connection.publish(reader, close.model_dump_json().encode())
            if not pending.done():
                pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
