"""The daemon as users run it: the console command, health, metrics, the clock, graceful shutdown."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from eventmesh.daemon import serve_in_thread
from eventmesh.effects import DeliveryResult

ROOT = Path(__file__).resolve().parent.parent


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    reply = conn.getresponse()
    return reply.status, reply.read()


def test_serve_command_answers_health_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "eventmesh", "serve", "--config", "configs/default.yaml",
                             "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        detail = line + (proc.stderr.read() if proc.stderr and not line else "")
        assert line.startswith("eventmesh listening on http://127.0.0.1:"), detail
        port = int(line.split(":")[2].split()[0])
        status, body = _get(port, "/_eventmesh/health")
        assert status == 200 and json.loads(body)["clock"] == "real"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_rejects_an_invalid_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: {clock: sometimes}\n")
    proc = subprocess.run([sys.executable, "-m", "eventmesh", "serve", "--config", str(bad), "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ})
    assert proc.returncode == 2
    assert "server.clock: must be real or virtual" in proc.stderr


class _Counted:
    """A resource with the statistics()/metric_* contract every core follows."""

    metric_namespace = "AWS/SQS"

    class Stats(msgspec.Struct, frozen=True):
        counters = frozenset({"number_of_messages_sent"})
        number_of_messages_sent: int
        approximate_number_of_messages_visible: int

    def __init__(self, arn: str) -> None:
        self.arn = arn

    def metric_dimensions(self) -> dict[str, str]:
        return {"QueueName": "orders"}

    def statistics(self) -> _Counted.Stats:
        return self.Stats(7, 3)

    def accept(self, items: list, source_arn: str) -> DeliveryResult:
        return DeliveryResult()


def test_metrics_are_read_from_the_cores_at_scrape_time() -> None:
    handle = serve_in_thread(services=[])
    try:
        handle.mesh.add(_Counted(handle.mesh.arn("sqs", "orders")))
        status, body = _get(handle.daemon.bound_port, "/metrics")
        text = body.decode()
        assert status == 200
        assert 'aws_sqs_number_of_messages_sent_total{queue_name="orders"} 7.0' in text
        assert 'aws_sqs_approximate_number_of_messages_visible{queue_name="orders"} 3.0' in text
    finally:
        handle.stop()


def test_virtual_clock_endpoint_moves_time_and_real_clock_refuses() -> None:
    virtual = serve_in_thread(services=[], clock="virtual")
    try:
        start = virtual.mesh.clock.now()
        fired: list[float] = []
        virtual.daemon.mesh.clock.call_later(60, lambda: fired.append(virtual.mesh.clock.now()))
        assert virtual.advance(59.5) == start + 59.5 and fired == []
        assert virtual.advance(1) == start + 60.5 and fired == [start + 60]
        status, body = _get(virtual.daemon.bound_port, "/_eventmesh/clock")
        assert json.loads(body) == {"now": start + 60.5, "mode": "virtual"}
        for bad, message in ((-5, "advance must be a number of seconds >= 0"),
                             (1e11, "advance must be at most 31622400 seconds (366 days) per request")):
            conn = http.client.HTTPConnection("127.0.0.1", virtual.daemon.bound_port, timeout=10)
            conn.request("POST", "/_eventmesh/clock", json.dumps({"advance": bad}))
            reply = conn.getresponse()
            assert (reply.status, json.loads(reply.read())) == (400, {"message": message})
        assert virtual.mesh.clock.now() == start + 60.5   # a refused advance moves nothing
    finally:
        virtual.stop()
    real = serve_in_thread(services=[], clock="real")
    try:
        with pytest.raises(RuntimeError, match="the clock is real"):
            real.advance(1)
    finally:
        real.stop()


def test_malformed_http_gets_400_and_the_daemon_keeps_serving() -> None:
    import socket

    handle = serve_in_thread(services=[])
    try:
        with socket.create_connection(("127.0.0.1", handle.daemon.bound_port), timeout=10) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
        assert _get(handle.daemon.bound_port, "/_eventmesh/health")[0] == 200
    finally:
        handle.stop()


def test_work_due_now_runs_right_after_a_request_in_virtual_time() -> None:
    import boto3

    handle = serve_in_thread(clock="virtual")
    try:
        lam = boto3.client("lambda", endpoint_url=handle.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        lam.create_function(FunctionName="instant", Role="arn:aws:iam::000000000000:role/r",
                            Handler="model:duration=0", Code={})
        start = handle.mesh.clock.now()
        reply = lam.invoke(FunctionName="instant", Payload=b"{}")  # completes with no clock advance
        assert reply["StatusCode"] == 200 and "FunctionError" not in reply
        assert handle.mesh.clock.now() == start
    finally:
        handle.stop()


def test_resources_from_the_config_carry_the_bound_address(tmp_path: Path) -> None:
    from eventmesh.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("resources:\n  sqs:\n    queues:\n      - QueueName: from-config\n")
    handle = serve_in_thread(load_config(path))
    try:
        import boto3

        sqs = boto3.client("sqs", endpoint_url=handle.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        url = sqs.get_queue_url(QueueName="from-config")["QueueUrl"]
        assert url.endswith("/000000000000/from-config")
    finally:
        handle.stop()


def test_metrics_exposition_has_one_family_per_name_across_every_service() -> None:
    import collections

    import boto3
    from prometheus_client.parser import text_string_to_metric_families

    handle = serve_in_thread()
    try:
        def client(name: str):
            return boto3.client(name, endpoint_url=handle.url, region_name="us-east-1",
                                aws_access_key_id="x", aws_secret_access_key="x")

        client("lambda").create_function(FunctionName="f", Role="arn:aws:iam::000000000000:role/r",
                                         Handler="model:duration=0", Code={})
        client("kinesis").create_stream(StreamName="s", ShardCount=2)
        client("sqs").create_queue(QueueName="q")
        client("sns").create_topic(Name="t")
        client("events").put_rule(Name="r", EventPattern='{"source": ["a"]}')
        text = _get(handle.daemon.bound_port, "/metrics")[1].decode()
        helps = collections.Counter(line.split()[2] for line in text.splitlines() if line.startswith("# HELP"))
        assert [name for name, n in helps.items() if n > 1] == []
        names = {family.name for family in text_string_to_metric_families(text)}
        for expected in ("aws_sqs_approximate_number_of_messages_visible", "aws_sns_number_of_messages_published",
                         "aws_kinesis_incoming_records", "aws_kinesis_shard_incoming_records",
                         "aws_lambda_concurrent_executions", "aws_events_matched_events"):
            assert expected in names
        assert 'aws_kinesis_shard_incoming_records_total{shard_id="shardId-000000000001",stream_name="s"} 0.0' in text
        assert "aws_lambda_concurrent_executions 0.0" in text  # the account-wide figure
        assert 'aws_lambda_concurrent_executions{function_name="f"} 0.0' in text
    finally:
        handle.stop()
