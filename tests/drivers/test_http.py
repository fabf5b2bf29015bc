"""The engine's HTTP client against a loopback server: what it sends, and how answers come back."""

from __future__ import annotations

import asyncio

from eventmesh.drivers.http import install_http_client, send
from eventmesh.effects import HttpRequest, HttpResponse
from eventmesh.mesh import Mesh
from eventmesh.services.sns.delivery import http_retryable
from tests.services.sns.helpers import make_topic, publish


async def _server(status: bytes, seen: list[bytes]) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        seen.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_post_sends_headers_and_body_and_reads_the_status() -> None:
    async def main() -> tuple[HttpResponse, list[bytes]]:
        seen: list[bytes] = []
        server, port = await _server(b"204 No Content", seen)
        async with server:
            outcome = await send(HttpRequest(f"http://127.0.0.1:{port}/hook?a=1", "POST",
                                             {"x-amz-sns-message-type": "Notification"}, "héllo", 5.0))
        return outcome, seen

    outcome, seen = asyncio.run(main())
    assert outcome == HttpResponse(204) and outcome.ok
    request = seen[0]
    assert request.startswith(b"POST /hook?a=1 HTTP/1.1\r\n")
    assert b"\r\nx-amz-sns-message-type: Notification\r\n" in request
    assert b"\r\nContent-Length: 6\r\n" in request and request.endswith("héllo".encode())


def test_server_errors_and_refusals_are_retried_by_sns() -> None:
    async def main() -> tuple[HttpResponse, HttpResponse]:
        server, port = await _server(b"500 Oops", [])
        async with server:
            failed = await send(HttpRequest(f"http://127.0.0.1:{port}/", "PUT", {}, "x", 5.0))
        refused = await send(HttpRequest(f"http://127.0.0.1:{port}/", "POST", {}, "x", 5.0))
        return failed, refused

    failed, refused = asyncio.run(main())
    assert failed.status == 500 and not failed.ok and http_retryable(failed)
    assert refused.status is None and refused.error and http_retryable(refused)
    assert not http_retryable(HttpResponse(404)) and http_retryable(HttpResponse(429))


def test_installed_client_answers_the_topic_and_flushes(vmesh: Mesh) -> None:
    async def main() -> list[bytes]:
        seen: list[bytes] = []
        server, port = await _server(b"200 OK", seen)
        tasks: list[asyncio.Task[None]] = []
        install_http_client(vmesh, lambda coro: tasks.append(asyncio.get_running_loop().create_task(coro)))
        async with server:
            topic = make_topic(vmesh)
            sub = topic.subscriptions.subscribe("http", f"http://127.0.0.1:{port}/sns")
            vmesh.flush()
            await asyncio.gather(*tasks)
            topic.subscriptions.confirm(sub.token)
            publish(topic, "over the wire")
            await asyncio.gather(*tasks)
            assert topic.statistics().number_of_notifications_delivered == 1
        return seen

    seen = asyncio.run(main())
    assert [b"SubscriptionConfirmation" in r for r in seen] == [True, False]
    assert b'"Message":"over the wire"' in seen[1]
