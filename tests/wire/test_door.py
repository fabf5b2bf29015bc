"""The HTTP door's limits: timeouts, header and body sizes, the connection cap, large bodies.

Timeouts are real time in the daemon; these tests move the door's sweep forward instead of
waiting (``doorhelpers.sweep_ahead``)."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from collections.abc import Iterator

import pytest

from eventmesh.config import Config
from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.wire.limits import ServerSettings
from eventmesh.wire.protocols import cbor
from tests.wire.doorhelpers import closed, connect, host, nothing_pending, read_response, request, sweep_ahead

SETTINGS = ServerSettings(request_timeout_s=30, idle_timeout_s=60, max_connections=40, max_header_count=50,
                          max_header_bytes=16_384, spool_body_bytes=65_536)
ROLE = "arn:aws:iam::000000000000:role/r"
JSON10 = "application/x-amz-json-1.0"


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    config = Config(server=SETTINGS, resources={
        "sqs": {"queues": [{"QueueName": "q"}]},
        "lambda": {"functions": [{"FunctionName": "f", "Role": ROLE, "Handler": "model:duration=1ms",
                                  "Runtime": "python3.12", "Code": {"ZipFile": b""}}]},
    })
    handle = serve_in_thread(config)
    yield handle
    handle.stop()


def _sqs_headers(handle: ServerHandle, op: str = "ListQueues") -> dict[str, str]:
    return {"Host": host(handle), "X-Amz-Target": f"AmazonSQS.{op}", "Content-Type": JSON10}


# -- timeouts -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sent", "timeout_s"), [
    (b"\r\n\r\n", SETTINGS.header_timeout_s),                                     # nothing but empty lines
    (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar", SETTINGS.header_timeout_s),   # head never finished
    (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{}",           # body shorter than
     SETTINGS.request_timeout_s),                                                       # declared
], ids=["empty-lines", "unfinished-head", "short-body"])
def test_an_unfinished_request_is_answered_408_at_its_timeout(daemon: ServerHandle, sent: bytes,
                                                               timeout_s: float) -> None:
    sock = connect(daemon)
    sock.sendall(sent)
    sweep_ahead(daemon, timeout_s - 1)
    assert nothing_pending(sock)
    sweep_ahead(daemon, timeout_s + 1)
    status, headers, _ = read_response(sock)
    assert status == 408 and headers["connection"] == "close"
    assert closed(sock)


def test_an_idle_keep_alive_connection_is_closed_at_the_idle_timeout(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    sock.sendall(request("POST", "/", _sqs_headers(daemon), b"{}"))
    assert read_response(sock)[0] == 200
    sweep_ahead(daemon, SETTINGS.idle_timeout_s - 5)
    assert nothing_pending(sock)
    sock.sendall(request("POST", "/", _sqs_headers(daemon), b"{}"))   # still usable
    assert read_response(sock)[0] == 200
    sweep_ahead(daemon, SETTINGS.idle_timeout_s + 1)
    assert closed(sock)


def test_a_long_poll_is_not_cut_by_the_request_timeout(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    url = f"http://{host(daemon)}/000000000000/q"
    sock.sendall(request("POST", "/", _sqs_headers(daemon, "ReceiveMessage"),
                         json.dumps({"QueueUrl": url, "WaitTimeSeconds": 20}).encode()))
    daemon.wait_for_polls(daemon.mesh.arn("sqs", "q"))
    sweep_ahead(daemon, SETTINGS.request_timeout_s + SETTINGS.idle_timeout_s)
    assert nothing_pending(sock)
    daemon.advance(20)
    status, _, body = read_response(sock)
    assert status == 200 and json.loads(body) == {}


# -- heads ----------------------------------------------------------------------------------------

def test_too_many_headers_are_refused_431(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    headers = "".join(f"X-H{i}: v\r\n" for i in range(SETTINGS.max_header_count + 1))
    sock.sendall(f"GET /_eventmesh/health HTTP/1.1\r\nHost: {host(daemon)}\r\n{headers}\r\n".encode())
    assert read_response(sock)[0] == 431


def test_a_repeated_header_counts_each_time(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    headers = "X-H: v\r\n" * (SETTINGS.max_header_count + 1)
    sock.sendall(f"GET /_eventmesh/health HTTP/1.1\r\nHost: {host(daemon)}\r\n{headers}\r\n".encode())
    assert read_response(sock)[0] == 431


def test_an_8_mb_header_is_refused_431(daemon: ServerHandle) -> None:
    """Refused once the head passes its limit; the rest is read and dropped, so the client
    still gets the answer rather than a reset."""
    sock = connect(daemon)
    sock.sendall(f"GET /_eventmesh/health HTTP/1.1\r\nHost: {host(daemon)}\r\nX-Big: ".encode())
    sock.sendall(b"x" * (8 << 20))
    sock.sendall(b"\r\n\r\n")
    assert read_response(sock)[0] == 431


def test_a_head_in_many_small_pieces_is_measured_as_a_whole(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    sock.sendall(f"GET /_eventmesh/health HTTP/1.1\r\nHost: {host(daemon)}\r\nX-Big: ".encode())
    for _ in range(SETTINGS.max_header_bytes // 1000 + 2):
        sock.sendall(b"y" * 1000)
    sock.sendall(b"\r\n\r\n")
    assert read_response(sock)[0] == 431


# -- bodies ---------------------------------------------------------------------------------------

SQS_LIMIT = 3 * 1_048_576 + 65_536


@pytest.mark.parametrize(("headers", "declared", "code", "shape"), [
    ({"X-Amz-Target": "AmazonSQS.SendMessageBatch", "Content-Type": JSON10}, SQS_LIMIT + 1,
     "com.amazonaws.sqs#RequestEntityTooLarge", "json"),
    ({"X-Amz-Target": "Kinesis_20131202.PutRecords", "Content-Type": "application/x-amz-cbor-1.1"},
     100_000_000, "RequestEntityTooLarge", "cbor"),
    ({"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"},
     2 * 262_144 + 65_536 + 1, "RequestEntityTooLarge", "json"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, 100_000_000, "RequestEntityTooLarge", "query"),
], ids=["sqs", "kinesis", "events", "query"])
def test_a_body_over_the_services_limit_is_refused_413_from_its_content_length(
        daemon: ServerHandle, headers: dict[str, str], declared: int, code: str, shape: str) -> None:
    sock = connect(daemon)
    sock.sendall(request("POST", "/", {"Host": host(daemon), **headers, "Content-Length": str(declared)}))
    status, reply_headers, body = read_response(sock)   # answered with no byte of the body sent
    assert status == 413
    if shape == "json":
        assert json.loads(body)["__type"] == code
    elif shape == "cbor":
        assert cbor.decode(body)["__type"] == code
    else:
        assert f"<Code>{code}</Code>".encode() in body


def test_lambda_takes_a_6_mb_invoke_and_refuses_more(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    sock.sendall(request("POST", "/2015-03-31/functions/f/invocations",
                         {"Host": host(daemon), "Content-Length": str(6_291_456 + 65_536 + 1)}))
    status, headers, body = read_response(sock)
    assert status == 413 and headers["x-amzn-errortype"] == "RequestTooLargeException"
    assert "6356992 bytes for the Invoke operation" in json.loads(body)["message"]  # the model's spelling


def test_lambda_takes_a_zip_upload_far_larger_than_an_invoke(daemon: ServerHandle) -> None:
    """CreateFunction's limit is the 50 MB zip's; its 2 MB body is spooled to a file on the way."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
        z.writestr("blob.bin", os.urandom(1_500_000))
    body = json.dumps({"FunctionName": "big", "Role": ROLE, "Runtime": "python3.12", "Handler": "handler.handler",
                       "Code": {"ZipFile": base64.b64encode(archive.getvalue()).decode()}}).encode()
    assert len(body) > 2 * SETTINGS.spool_body_bytes
    sock = connect(daemon)
    sock.sendall(request("POST", "/2015-03-31/functions", {"Host": host(daemon), "Content-Type": "application/json"},
                         body))
    status, _, reply = read_response(sock)
    assert status == 201, reply
    assert json.loads(reply)["CodeSize"] == len(archive.getvalue())


def test_lambda_takes_a_layer_upload_past_the_invoke_limit(daemon: ServerHandle) -> None:
    """PublishLayerVersion's limit is the 50 MB zip's too, not the 6 MB of an Invoke."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("python/blob.bin", os.urandom(7_000_000))
    body = json.dumps({"Content": {"ZipFile": base64.b64encode(archive.getvalue()).decode()}}).encode()
    sock = connect(daemon)
    sock.sendall(request("POST", "/2018-10-31/layers/big/versions",
                         {"Host": host(daemon), "Content-Type": "application/json"}, body))
    status, _, reply = read_response(sock)
    assert status == 201, reply
    assert json.loads(reply)["Content"]["CodeSize"] == len(archive.getvalue())


def test_a_chunked_body_is_capped_as_it_arrives(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    sock.sendall(request("POST", "/", {**_sqs_headers(daemon, "SendMessage"), "Transfer-Encoding": "chunked"}))
    chunk = b"x" * 1_048_576
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(6):
            sock.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        assert read_response(sock)[0] == 413
        raise BrokenPipeError   # answered: the daemon read no more than its limit


def test_a_chunked_body_within_the_limit_is_served(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    url = f"http://{host(daemon)}/000000000000/q"
    body = json.dumps({"QueueUrl": url, "MessageBody": "m" * 100_000}).encode()
    sock.sendall(request("POST", "/", {**_sqs_headers(daemon, "SendMessage"), "Transfer-Encoding": "chunked"}))
    for i in range(0, len(body), 30_000):
        piece = body[i:i + 30_000]
        sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
    sock.sendall(b"0\r\n\r\n")
    status, _, reply = read_response(sock)
    assert status == 200 and "MessageId" in json.loads(reply)


def test_expect_100_continue_is_answered_before_the_body(daemon: ServerHandle) -> None:
    sock = connect(daemon)
    sock.sendall(request("POST", "/", {**_sqs_headers(daemon), "Content-Length": "2", "Expect": "100-continue"}))
    assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
    sock.sendall(b"{}")
    assert read_response(sock)[0] == 200


def test_one_connection_past_the_cap_is_answered_503() -> None:
    cap = 5
    handle = serve_in_thread(Config(server=ServerSettings(max_connections=cap)))
    try:
        held = [connect(handle) for _ in range(cap)]
        for sock in held:
            sock.sendall(b"GET /_eventmesh/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert read_response(sock)[0] == 200
        assert read_response(connect(handle))[0] == 503
        held.pop().close()
        for _ in range(100):   # the daemon has seen the close once a new connection is served
            again = connect(handle)
            again.sendall(b"GET /_eventmesh/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if read_response(again)[0] == 200:
                break
        else:
            raise AssertionError("a freed connection slot was never reused")
        for sock in held:
            sock.close()
    finally:
        handle.stop()


def test_the_door_settings_come_from_the_server_section_of_a_config(tmp_path) -> None:
    from eventmesh.config import load_config, validate_config

    path = tmp_path / "c.yaml"
    path.write_text("server:\n  port: 0\n  request_timeout_s: 5\n  cors_origins: [http://localhost:3000]\n"
                    "  max_body_bytes: {sqs: 2048}\n")
    settings = load_config(path).server
    assert settings.request_timeout_s == 5 and settings.cors_origins == ["http://localhost:3000"]
    assert settings.max_body_bytes == {"sqs": 2048} and settings.idle_timeout_s == ServerSettings().idle_timeout_s
    assert validate_config({"server": {"request_timout_s": 5}}) == ["server.request_timout_s: unknown key"]
    assert validate_config({"server": {"idle_timeout_s": 0}}) == [
        "server.idle_timeout_s: must be a positive number of seconds"]
    assert validate_config({"server": {"max_connections": "many"}})[0].startswith("server: Expected `int`")


def test_a_configured_body_limit_replaces_the_services() -> None:
    handle = serve_in_thread(Config(server=ServerSettings(max_body_bytes={"sqs": 100})))
    try:
        sock = connect(handle)
        sock.sendall(request("POST", "/", _sqs_headers(handle), b"{" + b" " * 200 + b"}"))
        assert read_response(sock)[0] == 413
    finally:
        handle.stop()


ECHO_SOURCE = "def handler(event, context):\n    return {'n': len(event['data'])}\n"


def test_spooled_bodies_reach_every_protocol_intact(daemon: ServerHandle) -> None:
    """Bodies past spool_body_bytes reach handlers from a file: a Lambda payload, an SQS Query
    form and an SQS JSON body."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("echo.py", ECHO_SOURCE)
    create = json.dumps({"FunctionName": "echo", "Role": ROLE, "Runtime": "python3.12", "Handler": "echo.handler",
                         "Code": {"ZipFile": base64.b64encode(archive.getvalue()).decode()}}).encode()
    sock = connect(daemon)
    sock.sendall(request("POST", "/2015-03-31/functions", {"Host": host(daemon), "Content-Type": "application/json"},
                         create))
    assert read_response(sock)[0] == 201
    payload = json.dumps({"data": "x" * 2_000_000}).encode()
    sock.sendall(request("POST", "/2015-03-31/functions/echo/invocations", {"Host": host(daemon)}, payload))
    status, _, reply = read_response(sock)
    assert status == 200 and json.loads(reply) == {"n": 2_000_000}
    text = "q" * (3 * SETTINGS.spool_body_bytes)
    sock.sendall(request("POST", "/000000000000/q", {"Host": host(daemon),
                                                     "Content-Type": "application/x-www-form-urlencoded"},
                         f"Action=SendMessage&MessageBody={text}".encode()))
    status, _, reply = read_response(sock)
    assert status == 200 and b"<MessageId>" in reply
    url = f"http://{host(daemon)}/000000000000/q"
    sock.sendall(request("POST", "/", _sqs_headers(daemon, "SendMessage"),
                         json.dumps({"QueueUrl": url, "MessageBody": text}).encode()))
    assert read_response(sock)[0] == 200


def test_an_idle_connection_holds_no_request_body(daemon: ServerHandle) -> None:
    """A keep-alive connection kept its last request (and its body, up to a 66 MB zip) until the
    next request came: a thousand idle connections could hold gigabytes."""
    sock = connect(daemon)
    url = f"http://{host(daemon)}/000000000000/q"
    sock.sendall(request("POST", "/", _sqs_headers(daemon, "SendMessage"),
                         json.dumps({"QueueUrl": url, "MessageBody": "b" * 500_000}).encode()))
    assert read_response(sock)[0] == 200
    assert all(len(c._head.body) == 0 for c in daemon.daemon.http.connections if hasattr(c, "_head"))


def test_an_answer_that_fails_later_is_a_500_and_the_connection_serves_on(daemon: ServerHandle) -> None:
    async def fails() -> None:
        raise RuntimeError("a bug in an answer that comes later")

    def front(request):  # type: ignore[no-untyped-def]
        return fails() if request.path == "/fails-later" else None

    fronts = daemon.daemon.api.fronts
    fronts.append(front)
    try:
        with connect(daemon) as sock:
            sock.sendall(f"GET /fails-later HTTP/1.1\r\nHost: {host(daemon)}\r\n\r\n".encode())
            assert read_response(sock)[0] == 500
            sock.sendall(f"GET /_eventmesh/health HTTP/1.1\r\nHost: {host(daemon)}\r\n\r\n".encode())
            assert read_response(sock)[0] == 200
    finally:
        fronts.remove(front)
