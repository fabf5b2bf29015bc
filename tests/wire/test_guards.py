"""Host, Origin and content-type guards (DNS rebinding, cross-site requests) and CORS."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from eventmesh.config import Config
from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.wire.guards import Guard
from eventmesh.wire.limits import ServerSettings
from tests.wire.doorhelpers import connect, host, read_response, request

FORM = "application/x-www-form-urlencoded"
ALLOWED_ORIGIN = "http://app.localhost:3000"


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(Config(server=ServerSettings(allowed_hosts=["eventmesh", "*.internal.test"],
                                                          cors_origins=[ALLOWED_ORIGIN]),
                                    resources={"sqs": {"queues": [{"QueueName": "q"}]}}))
    yield handle
    handle.stop()


def _send(handle: ServerHandle, method: str, path: str, headers: dict[str, str],
          body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    sock = connect(handle)
    try:
        sock.sendall(request(method, path, headers, body))
        return read_response(sock)
    finally:
        sock.close()


@pytest.mark.parametrize(("name", "allowed"), [
    ("localhost", True), ("127.0.0.1", True), ("[::1]", True), ("sqs.us-east-1.localhost", True),
    ("10.1.2.3", True), ("eventmesh", True), ("a.internal.test", True),
    ("evil.example", False), ("localhost.evil.example", False), ("internal.test.evil", False),
])
def test_only_loopback_ip_literal_and_configured_hosts_are_served(daemon: ServerHandle, name: str,
                                                                   allowed: bool) -> None:
    port = daemon.daemon.bound_port
    status, _, body = _send(daemon, "POST", "/000000000000/q", {"Host": f"{name}:{port}", "Content-Type": FORM},
                            b"Action=GetQueueUrl&QueueName=q")
    if allowed:
        assert status == 200, body
        assert f"<QueueUrl>http://{name}:{port}/queue/us-east-1/000000000000/q</QueueUrl>".encode() in body
    else:
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
        assert name.encode() not in body.split(b"<Message>")[0]   # the forged name is not echoed as a URL


def test_a_forged_host_never_reaches_a_queue_url(daemon: ServerHandle) -> None:
    status, _, body = _send(daemon, "POST", "/", {"Host": "evil.example", "Content-Type": FORM},
                            b"Action=CreateQueue&QueueName=forged")
    assert status == 403 and b"QueueUrl" not in body
    sqs = boto3.client("sqs", endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    assert not any(url.endswith("/forged") for url in sqs.list_queues().get("QueueUrls", []))


@pytest.mark.parametrize(("headers", "status"), [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),                                   # a sandboxed page or a file:// page
    ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, 403),   # <img>/<form> with no Origin
    ({"Origin": ALLOWED_ORIGIN}, 200),
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({}, 200),                                                   # an SDK: no browser headers at all
])
def test_cross_origin_requests_are_refused_unless_configured(daemon: ServerHandle, headers: dict[str, str],
                                                             status: int) -> None:
    got, reply_headers, body = _send(daemon, "POST", "/000000000000/q",
                                     {"Host": host(daemon), "Content-Type": FORM, **headers},
                                     b"Action=SendMessage&MessageBody=csrf")
    assert got == status, body
    if headers.get("Origin") == ALLOWED_ORIGIN:
        assert reply_headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "x-amzn-RequestId" in reply_headers["access-control-expose-headers"]


def test_the_daemons_own_pages_may_call_it_back(daemon: ServerHandle) -> None:
    status, _, _ = _send(daemon, "GET", "/_eventmesh/clock", {"Host": host(daemon), "Origin": f"http://{host(daemon)}"})
    assert status == 200


def test_the_internal_endpoints_are_guarded_too(daemon: ServerHandle) -> None:
    status, _, body = _send(daemon, "POST", "/_eventmesh/clock", {"Host": host(daemon), "Origin": "http://evil.example",
                                                                  "Content-Type": "application/json"},
                            b'{"advance": 3600}')
    assert status == 403 and "cors_origins" in json.loads(body)["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", "multipart/form-data; boundary=x"])
def test_browser_only_content_types_are_refused(daemon: ServerHandle, content_type: str) -> None:
    function = json.dumps({"FunctionName": "csrf", "Role": "arn:aws:iam::000000000000:role/r",
                           "Runtime": "python3.12", "Handler": "shutil.rmtree", "Code": {"ZipFile": ""}}).encode()
    status, headers, _ = _send(daemon, "POST", "/2015-03-31/functions",
                               {"Host": host(daemon), "Content-Type": content_type}, function)
    assert status == 415 and headers["x-amzn-errortype"] == "UnsupportedMediaType"


def test_a_preflight_from_an_allowed_origin_is_granted(daemon: ServerHandle) -> None:
    status, headers, _ = _send(daemon, "OPTIONS", "/", {
        "Host": host(daemon), "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,content-type,authorization"})
    assert status == 204
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert headers["access-control-allow-headers"] == "x-amz-target,content-type,authorization"
    assert "POST" in headers["access-control-allow-methods"]


def test_a_preflight_from_elsewhere_is_refused(daemon: ServerHandle) -> None:
    status, headers, _ = _send(daemon, "OPTIONS", "/", {"Host": host(daemon), "Origin": "http://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert status == 403 and "access-control-allow-origin" not in headers


def test_any_origin_when_configured_with_a_star() -> None:
    guard = Guard(ServerSettings(cors_origins=["*"]), "127.0.0.1")
    assert guard.refusal("POST", {"host": "localhost:4566", "origin": "http://anything.example"}) is None
    assert guard.refusal("POST", {"host": "evil.example", "origin": "http://anything.example"}) is not None


def test_a_daemon_bound_to_a_name_answers_to_it() -> None:
    guard = Guard(ServerSettings(), "devbox")
    assert guard.host_allowed("devbox:4566") and not guard.host_allowed("other:4566")
