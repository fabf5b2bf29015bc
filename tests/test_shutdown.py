"""Graceful shutdown: SIGTERM (``Daemon.stop``) answers pending long polls at once (empty) and
lets a running invocation finish and reach its caller, within ``drain_timeout_s``.

The invocation runs an ``http://`` handler served by this test, which holds it until the test
lets go: no sleeping, and the order of events is the test's."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from eventmesh.config import Config
from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.services.sqs.queue import Queue
from eventmesh.wire.limits import ServerSettings

ROLE = "arn:aws:iam::000000000000:role/r"
WAIT_S = 10.0


class HeldEndpoint:
    """An HTTP endpoint whose POSTs wait until ``release`` is set."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.arrived.set()
                outer.release.wait(WAIT_S)
                body = json.dumps({"finished": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[HeldEndpoint]:
    held = HeldEndpoint()
    yield held
    held.close()


def _daemon(endpoint: HeldEndpoint, drain_timeout_s: float) -> ServerHandle:
    return serve_in_thread(Config(server=ServerSettings(drain_timeout_s=drain_timeout_s), resources={
        "sqs": {"queues": [{"QueueName": "q"}]},
        "lambda": {"functions": [{"FunctionName": "held", "Role": ROLE, "Handler": endpoint.url,
                                  "Runtime": "python3.12", "Code": {"ZipFile": b""}, "Timeout": 30}]},
    }))


def _client(handle: ServerHandle, service: str) -> Any:
    return boto3.client(service, endpoint_url=handle.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x",
                        config=BotoConfig(retries={"total_max_attempts": 1}, read_timeout=30))


def _in_thread(results: dict[str, Any], key: str, call: Any) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = call()
        except Exception as exc:   # the test looks at what each caller got
            results[key] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sigterm_answers_long_polls_and_lets_a_running_invocation_finish(endpoint: HeldEndpoint) -> None:
    handle = _daemon(endpoint, drain_timeout_s=WAIT_S)
    sqs, awslambda = _client(handle, "sqs"), _client(handle, "lambda")
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    results: dict[str, Any] = {}
    polls = [_in_thread(results, f"poll{i}", lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))
             for i in range(5)]
    invoke = _in_thread(results, "invoke", lambda: awslambda.invoke(FunctionName="held", Payload=b"{}"))
    handle.wait_for_polls(handle.mesh.arn("sqs", "q"), count=5)
    assert endpoint.arrived.wait(WAIT_S)

    handle.loop.call_soon_threadsafe(handle.daemon.stop)
    for poll in polls:
        poll.join(WAIT_S)
    for i in range(5):   # answered while the invocation still runs: empty, as at the end of the wait
        reply = results[f"poll{i}"]
        assert not isinstance(reply, Exception), reply
        assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200 and "Messages" not in reply
    assert "invoke" not in results

    endpoint.release.set()
    invoke.join(WAIT_S)
    reply = results["invoke"]
    assert not isinstance(reply, Exception), reply
    assert reply["StatusCode"] == 200 and json.loads(reply["Payload"].read()) == {"finished": True}
    handle.thread.join(WAIT_S)
    assert not handle.thread.is_alive()


def test_work_past_the_drain_timeout_is_cut_off(endpoint: HeldEndpoint) -> None:
    handle = _daemon(endpoint, drain_timeout_s=0.2)
    awslambda = _client(handle, "lambda")
    results: dict[str, Any] = {}
    invoke = _in_thread(results, "invoke", lambda: awslambda.invoke(FunctionName="held", Payload=b"{}"))
    assert endpoint.arrived.wait(WAIT_S)
    handle.loop.call_soon_threadsafe(handle.daemon.stop)
    handle.thread.join(WAIT_S)
    assert not handle.thread.is_alive()    # stopped although the invocation never finished
    invoke.join(WAIT_S)
    assert isinstance(results["invoke"], Exception)   # its connection was closed unanswered
    endpoint.release.set()


def test_no_new_long_poll_waits_once_draining() -> None:
    handle = serve_in_thread(Config(resources={"sqs": {"queues": [{"QueueName": "q"}]}}))
    try:
        handle.loop.call_soon_threadsafe(handle.daemon.begin_drain)
        handle.advance(0)   # a round trip through the loop: the drain has begun
        sqs = _client(handle, "sqs")
        reply = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="q")["QueueUrl"], WaitTimeSeconds=20)
        assert "Messages" not in reply   # answered without any virtual time passing
    finally:
        handle.stop()


def test_a_finished_long_poll_leaves_no_waiter_behind() -> None:
    """A long poll is the queue's while it waits: one that was woken or whose wait ended leaves
    nothing behind, so queues that come and go (a name per test run) do not grow the daemon."""
    handle = serve_in_thread(Config(resources={"sqs": {"queues": [{"QueueName": f"q{i}"} for i in range(3)]}}))
    try:
        sqs = _client(handle, "sqs")
        results: dict[str, Any] = {}
        threads = [_in_thread(results, f"q{i}", lambda i=i: sqs.receive_message(
            QueueUrl=sqs.get_queue_url(QueueName=f"q{i}")["QueueUrl"], WaitTimeSeconds=5)) for i in range(3)]
        for i in range(3):
            handle.wait_for_polls(handle.mesh.arn("sqs", f"q{i}"))
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="q0")["QueueUrl"], MessageBody="wake")
        handle.advance(5)
        for thread in threads:
            thread.join(WAIT_S)
        assert [m["Body"] for m in results["q0"]["Messages"]] == ["wake"]
        assert "Messages" not in results["q1"] and "Messages" not in results["q2"]
        assert [len(handle.mesh.get(handle.mesh.arn("sqs", f"q{i}"), Queue).polls) for i in range(3)] == [0, 0, 0]
        assert handle.daemon.api.waiters._waiting == {}
    finally:
        handle.stop()
