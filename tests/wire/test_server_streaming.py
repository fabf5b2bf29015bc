"""The HTTP/1.1 door writes a streamed body (an async iterator, as event streams answer) chunked,
keeps the connection, and closes the producer when the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from eventmesh.wire.router import Request
from eventmesh.wire.server import HttpServer

Answer = tuple[int, list[tuple[str, str]], Any]


class _Door:
    """A door that takes every request and answers with ``handler``."""

    def __init__(self, handler: Callable[[Request], Answer]) -> None:
        self.handler = handler

    def admit(self, request: Request) -> int:
        return 1_000

    def too_large(self, request: Request, limit: int) -> Answer:
        return 413, [], b""

    def __call__(self, request: Request) -> Answer:
        return self.handler(request)


def test_chunks_go_out_as_produced_then_the_connection_serves_the_next_request() -> None:
    closed: list[bool] = []
    release = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            await release.wait()  # the client has the first chunk before the second exists
            yield b"second"
        finally:
            closed.append(True)

    def handler(request: Request) -> Answer:
        if request.path == "/stream":
            return 200, [("Content-Type", "application/vnd.amazon.eventstream")], chunks()
        return 200, [("Content-Type", "text/plain")], b"plain"

    async def scenario() -> tuple[bytes, bytes]:
        server = await asyncio.get_running_loop().create_server(HttpServer(_Door(handler)).protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        first = await reader.readuntil(b"first\r\n")
        release.set()
        rest = await reader.readuntil(b"0\r\n\r\n")
        writer.write(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
        plain = await reader.readuntil(b"\r\n\r\nplain")
        writer.close()
        server.close()
        await server.wait_closed()
        return head + first + rest, plain

    streamed, plain = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert b"Transfer-Encoding: chunked\r\n" in streamed and b"Content-Length" not in streamed
    assert streamed.endswith(b"\r\n\r\n5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n")
    assert closed == [True]
    assert plain.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 5" in plain


def test_a_client_going_away_closes_the_producer() -> None:
    closed = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield b"one"
            await asyncio.Event().wait()  # never produces more
        finally:
            closed.set()

    def handler(request: Request) -> Answer:
        return 200, [], chunks()

    async def scenario() -> None:
        server = await asyncio.get_running_loop().create_server(HttpServer(_Door(handler)).protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"one\r\n")
        writer.close()
        await closed.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert closed.is_set()
