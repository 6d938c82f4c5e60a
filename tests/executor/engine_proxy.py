"""A Unix-socket proxy in front of the Docker Engine, for tests that need the engine to misbehave:
go away and come back (an engine restart), hold back a backup's tar stream (a job held in its
archive phase for as long as the test needs), or hold back the event stream (an executor whose
inventory falls behind what the engine holds)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

RELAY_BYTES = 256 * 1024


def engine_socket() -> Path:
    """The Docker Engine's Unix socket, as DOCKER_HOST (or the default) names it."""
    docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not docker_host.startswith("unix://"):
        pytest.fail(f"the engine-outage tests need the engine on a Unix socket, not DOCKER_HOST={docker_host}")
    return Path(docker_host.removeprefix("unix://"))


class EngineProxy:
    """A Unix socket that relays to the engine's, and can be cut off from it and restored, or hold
    back its answers to archive reads and uploads."""

    def __init__(self, path: Path, engine: Path) -> None:
        self.path = path
        self.engine = engine
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()
        self._cut = False
        self._refused = asyncio.Event()
        self._holding_archive_reads = False
        self._holding_events = False
        self.archive_read_held = asyncio.Event()
        self._archive_writes_to_let_through: int | None = None
        self.archive_write_held = asyncio.Event()
        self._released = asyncio.Event()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))

    async def close(self) -> None:
        self.release()
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*self._relays, return_exceptions=True)

    def cut(self) -> None:
        """The engine goes away: every open connection breaks, and new ones are closed unanswered."""
        self._cut = True
        self._refused.clear()
        for writer in list(self._open):
            writer.transport.abort()

    def restore(self) -> None:
        """The engine is back: new connections reach it again."""
        self._cut = False

    def hold_archive_reads(self) -> None:
        """From now on, the engine's answer to a request for a container's archive (a backup's tar
        stream) is never passed on: the job waits in its archive phase until its connection closes."""
        self._holding_archive_reads = True

    def hold_events(self) -> None:
        """From now on, the engine's event stream is never passed on: an executor started after this
        never hears of a container created or removed, so the inventory it reported at its start is
        the last one until its next periodic report (as when a report is still on its way)."""
        self._holding_events = True

    def hold_archive_write(self, after: int = 0) -> None:
        """Hold back the engine's answer to the archive upload (a restore's extraction) that comes
        after `after` others, until `release()`: the job waits there with the data extracted."""
        self._archive_writes_to_let_through = after

    def release(self) -> None:
        """Pass on the held answer to an archive upload."""
        self._released.set()

    async def wait_refused(self) -> None:
        """Until someone tried to connect while the engine was away."""
        await self._refused.wait()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            await self._relay(client_reader, client_writer)
        finally:
            self._relays.discard(task)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self._refused.set()
            client_writer.transport.abort()
            return
        try:
            engine_reader, engine_writer = await asyncio.open_unix_connection(str(self.engine))
        except OSError:
            client_writer.transport.abort()
            return
        writers = {client_writer, engine_writer}
        self._open |= writers
        held = asyncio.Event()  # this connection carries an archive read: its answer is dropped
        paused = asyncio.Event()  # this connection carries the held archive upload: its answer waits
        client_gone = asyncio.Event()

        def inspect_request(data: bytes) -> None:
            request_line = data.split(b"\r\n", 1)[0]
            if self._holding_events and request_line.startswith(b"GET ") and b"/events?" in request_line:
                held.set()
            if b"/archive?" not in request_line:
                return
            if self._holding_archive_reads and request_line.startswith(b"GET "):
                held.set()
                self.archive_read_held.set()
            if self._archive_writes_to_let_through is not None and request_line.startswith(b"PUT "):
                if self._archive_writes_to_let_through == 0:
                    self._archive_writes_to_let_through = None
                    paused.set()
                    self.archive_write_held.set()
                else:
                    self._archive_writes_to_let_through -= 1

        async def gate() -> None:
            if paused.is_set():
                waits = [asyncio.ensure_future(self._released.wait()), asyncio.ensure_future(client_gone.wait())]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()

        async def from_client() -> None:
            try:
                await _pump(client_reader, engine_writer, writers, inspect_request)
            finally:
                client_gone.set()

        try:
            await asyncio.gather(from_client(), _pump(engine_reader, client_writer, writers, hold=held, gate=gate))
        finally:
            self._open -= writers
            for writer in writers:
                writer.transport.abort()


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    both: set[asyncio.StreamWriter],
    inspect: Callable[[bytes], None] | None = None,
    hold: asyncio.Event | None = None,
    gate: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Copy one direction until its end (passed on as a half-close); a broken side breaks both.
    `inspect` sees each chunk before it is passed on; once `hold` is set, nothing more is;
    `gate` is awaited before each chunk is passed on."""
    try:
        while data := await reader.read(RELAY_BYTES):
            if inspect is not None:
                inspect(data)
            if hold is not None and hold.is_set():
                continue  # read and dropped: the client waits for an answer that never comes
            if gate is not None:
                await gate()
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.transport.is_closing():
            writer.write_eof()
    except OSError:
        for other in both:
            other.transport.abort()
