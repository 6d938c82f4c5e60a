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


async def _stream_chunked(url: str, path: str, total: int) -> tuple[int, bytes, int]:
    """POST `total` bytes in 64 KiB chunks until the server answers; (status, body, bytes sent)."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    answer = asyncio.create_task(_response_head(reader))
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    sent = 0
    try:
        while sent < total and not answer.done():
            writer.write(chunk)
            await writer.drain()  # blocks while the server does not read
            sent += 64 * 1024
    except ConnectionError:
        pass  # it closed the connection after answering
    status, body = await asyncio.wait_for(answer, 30)
    writer.close()
    return status, body, sent


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
    status, body, sent = await _stream_chunked(gateway_process.url, "/auth/login", ATTEMPTED)
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
