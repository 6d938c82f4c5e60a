"""Anyone who reaches the API sends it a body of hundreds of megabytes, declared or streamed in
chunks, to a public route: the real gateway process refuses it with 413 once the limit
(DOCKBACK_MAX_REQUEST_BYTES, 1 MiB by default) is passed, without reading the rest into
memory, and goes on answering.

Before the limit, FastAPI read the whole body into memory before validating it: one request
grew the process by the size of the body.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from harness.gateway_process import GatewayProcess, run_gateway

MiB = 1024 * 1024
ATTEMPTED = 256 * MiB


@pytest.fixture
def gateway_process(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    with run_gateway(database_url, nats_url, tmp_path) as process:
        yield process


async def _response_head(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return status, await reader.readexactly(length)


def _stream_chunked(url: str, path: str, total: int) -> tuple[int, bytes, int]:
    """POST `total` bytes in 64 KiB chunks until the server answers; (status, body, bytes sent).

    A plain socket, not asyncio's streams: the gateway answers 413 and closes with the rest of
    the body unread, so the kernel resets the connection. asyncio's transport then fails on its
    next send and drops the connection before reading the answer already received; a socket
    reads it from the receive queue, where it arrived before the reset.
    """
    where = urlsplit(url)
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sent = 0
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break  # it answered (or closed)
            if not writable:
                raise TimeoutError("the gateway neither read nor answered for 30 s")
            try:
                sent += sock.send(chunk[sent % len(chunk) :])  # the rest of a chunk sent in part
            except ConnectionError:
                break  # it closed the connection after answering
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            assert data, f"the gateway closed without answering: {received!r}"
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            data = sock.recv(65536)
            assert data, f"the gateway closed mid-answer: {body!r}"
            body += data
    return status, body[:length], sent


async def test_a_huge_body_exhausts_the_gateway(gateway_process: GatewayProcess) -> None:
    process = psutil.Process(gateway_process.pid)
    rss_before = process.memory_info().rss

    # declared: refused before a byte of it is read
    where = urlsplit(gateway_process.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        f"POST /auth/login HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {ATTEMPTED}\r\n\r\n".encode()
    )
    status, body = await asyncio.wait_for(_response_head(reader), 10)
    writer.close()
    assert status == 413
    assert json.loads(body) == {
        "error": "content_too_large",
        "detail": f"the request body is larger than {MiB} bytes, the most this API accepts",
    }

    # streamed without a length: counted as it comes, refused once past the limit
    status, body, sent = await asyncio.to_thread(_stream_chunked, gateway_process.url, "/auth/login", ATTEMPTED)
    assert status == 413, body
    assert json.loads(body)["error"] == "content_too_large"
    assert sent < 32 * MiB, f"the gateway read {sent / MiB:.0f} MiB of a body it refuses past 1 MiB"

    growth = process.memory_info().rss - rss_before
    assert growth < 32 * MiB, f"the gateway grew by {growth / MiB:.0f} MiB"

    async with httpx.AsyncClient(base_url=gateway_process.url) as client:
        # a body within the limit is read and judged as before, and the gateway still answers
        small = await client.post("/auth/login", json={"username": "admin", "password": "x" * 1000})
        assert small.status_code == 401, small.text
        assert (await client.get("/health")).status_code == 200
