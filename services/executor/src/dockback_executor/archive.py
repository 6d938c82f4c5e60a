"""Writing and reading compressed archives: compress, hash and count while streaming.

The writer runs in a worker thread (compression is CPU work that would stall the event
loop); the event loop reads the next chunk from the engine while the thread compresses the
previous one. Nothing is ever held in memory beyond a few chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import io
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import zstandard

from dockback_contracts.base import Compression
from dockback_executor.tar_inspect import TarStreamCounter
from dockback_runtime.partials import open_partial, partial_of

BATCH_BYTES = 4 * 1024 * 1024
ZSTD_JOB_BYTES = 4 * 1024 * 1024
READ_BYTES = 1024 * 1024
SUFFIXES: dict[str, str] = {"zstd": ".tar.zst", "gzip": ".tar.gz", "none": ".tar"}
DEFAULT_LEVELS: dict[str, int | None] = {"zstd": 3, "gzip": 6, "none": None}


class _HashingFile:
    """A write-only file that hashes and counts what passes through to the real file."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        written = self.target.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return written

    def flush(self) -> None:
        self.target.flush()

    def writable(self) -> bool:
        return True


@dataclass(frozen=True)
class WrittenArchive:
    """A complete archive in its final place."""

    path: Path
    sha256: str
    size_bytes: int
    raw_bytes: int
    file_count: int


class ArchiveWriter:
    """Compresses a tar stream into `<final>` through a temporary file beside it.

    `write()` and `commit()` do blocking I/O and CPU work: call them from a worker thread.
    `commit()` fsyncs the file, renames it into place and fsyncs the directory, so once it
    returns the archive survives a crash. `abort()` removes the temporary file.
    """

    def __init__(self, final: Path, compression: Compression, level: int | None, *, count_tar: bool = True) -> None:
        self.final = final
        self.temporary = partial_of(final)
        self._file = open_partial(final, exclusive=True)  # closed in commit()/abort(); locked until then
        self._hashing = _HashingFile(self._file)
        self._counter = TarStreamCounter() if count_tar else None
        self._raw = 0
        self._lock = threading.Lock()
        self.abandoned_bytes = 0  # how long the temporary file was when abort() removed it
        level = DEFAULT_LEVELS[compression] if level is None else level
        self._sink: IO[bytes] | _HashingFile
        if compression == "zstd":
            # One worker per core; 4 MiB jobs keep the workers' buffers small (the default job
            # size at level 3 costs ~100 MiB of memory for no better ratio).
            params = zstandard.ZstdCompressionParameters.from_level(
                level or 3, threads=-1, job_size=ZSTD_JOB_BYTES, write_checksum=True
            )
            compressor = zstandard.ZstdCompressor(compression_params=params)
            self._sink = compressor.stream_writer(self._hashing, closefd=False)  # type: ignore[arg-type]
        elif compression == "gzip":
            self._sink = gzip.GzipFile(fileobj=self._hashing, mode="wb", compresslevel=level or 6, mtime=0)  # type: ignore[assignment]
        else:
            self._sink = self._hashing

    @property
    def raw_bytes(self) -> int:
        """Bytes of the tar stream taken in so far."""
        return self._raw

    def write(self, chunk: bytes) -> None:
        with self._lock:
            self._raw += len(chunk)
            if self._counter is not None:
                self._counter.feed(chunk)
            self._sink.write(chunk)

    def commit(self) -> WrittenArchive:
        if self._counter is not None and not self._counter.complete:
            self.abort()
            raise ValueError("the tar stream ended before its end-of-archive marker: incomplete archive")
        if self._sink is not self._hashing:
            self._sink.close()  # type: ignore[union-attr]  # flushes the compressor's last frame
        self._file.flush()
        os.fsync(self._file.fileno())
        os.replace(self.temporary, self.final)  # before closing: closing gives up the partial file's lock
        self._file.close()
        fsync_dir(self.final.parent)
        return WrittenArchive(
            path=self.final,
            sha256=self._hashing.sha256.hexdigest(),
            size_bytes=self._hashing.size,
            raw_bytes=self._raw,
            file_count=self._counter.file_count if self._counter is not None else 1,
        )

    def abort(self) -> None:
        """Remove the temporary file, whatever state the writing ended in."""
        # The lock waits for a write still running in a worker thread (the job may have been
        # cancelled while it ran) before the file goes away under it.
        with self._lock:
            # Closing flushes what is still buffered, which fails again on a full disk; the file
            # is closed all the same, and removing it is what gives the space back. The
            # compressor is closed now rather than when it is garbage-collected.
            if self._sink is not self._hashing:
                with contextlib.suppress(OSError, ValueError, zstandard.ZstdError):
                    self._sink.close()  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                self._file.close()
            with contextlib.suppress(OSError):
                self.abandoned_bytes = self.temporary.stat().st_size
            self.temporary.unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def write_stream(
    chunks: AsyncIterator[bytes], writer: ArchiveWriter, on_progress: Callable[[int], None] | None = None
) -> None:
    """Feed a stream into `writer` in a worker thread, reading ahead while it compresses."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    batched = 0

    async def flush() -> None:
        nonlocal pending, batch, batched
        data = b"".join(batch)
        batch, batched = [], 0
        if pending is not None:
            await pending
        pending = loop.run_in_executor(None, writer.write, data)
        if on_progress is not None:
            on_progress(writer.raw_bytes + len(data))

    async for chunk in chunks:
        batch.append(chunk)
        batched += len(chunk)
        if batched >= BATCH_BYTES:
            await flush()
    if batch:
        await flush()
    if pending is not None:
        await pending


def open_decompressed(path: Path, compression: Compression) -> BinaryIO:
    """The archive's tar stream, decompressed as it is read (blocking: use in a thread)."""
    return decompressing(open(path, "rb"), compression)


def decompressing(raw: BinaryIO, compression: Compression) -> BinaryIO:
    """A reader of `raw`'s decompressed bytes; closing it closes `raw`."""
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


class HashingReader(io.RawIOBase):
    """Reads through to a file, hashing every byte read (so one pass both checks and hashes)."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        self.sha256.update(data)
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha256.update(data)
        return data

    def drain(self) -> str:
        """Hash what was not read yet; the sha256 of the whole file."""
        while self.read(READ_BYTES):
            pass
        return self.sha256.hexdigest()

    def close(self) -> None:
        self.source.close()
        super().close()


async def read_decompressed(path: Path, compression: Compression) -> AsyncIterator[bytes]:
    """The archive's tar stream as chunks, decompressed in a worker thread."""
    reader = await asyncio.to_thread(open_decompressed, path, compression)
    try:
        while chunk := await asyncio.to_thread(reader.read, READ_BYTES):
            yield chunk
    finally:
        await asyncio.to_thread(reader.close)
