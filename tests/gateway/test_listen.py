"""The gateway's listening sockets: connections accepted on them send small responses at once
(TCP_NODELAY), instead of holding a response's body for the client's delayed ACK (~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from dockback_gateway.__main__ import _listen


async def test_connections_accepted_on_the_gateways_sockets_have_nagle_turned_off() -> None:
    listening = _listen("127.0.0.1", 0)
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listening)  # as uvicorn serves sockets it is given
    async with server:
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        assert await asyncio.wait_for(accepted, 10) != 0
        writer.close()
