"""The console's JSON: resources with live gauges, the topology graph, a DLQ peek that changes
nothing, recent invocations with their logs; and the page itself."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventmesh.config import load_config
from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread

TOPOLOGY = Path(__file__).resolve().parent / "topology.yaml"
ARN = "arn:aws:{}:us-east-1:000000000000:{}"


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(load_config(TOPOLOGY), workers=workers)
    sqs = boto3.client("sqs", endpoint_url=handle.url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    jobs = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=jobs, MessageBody='{"job": 1}')
    sqs.send_message(QueueUrl=jobs, MessageBody='{"job": 2}')
    handle.advance(1)            # both batches running (2 s each), concurrency 2
    try:
        yield handle
    finally:
        handle.stop()


def get(daemon: ServerHandle, path: str) -> Any:
    with urllib.request.urlopen(daemon.url + path, timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("application/json")
        return json.loads(reply.read())


def test_resources_show_live_depths_and_concurrency(daemon: ServerHandle) -> None:
    data = get(daemon, "/_eventmesh/resources")
    queues = {q["name"]: q for q in data["sqs"]}
    assert queues["jobs"]["in_flight"] == 2 and queues["jobs"]["visible"] == 0
    assert queues["jobs"]["dlq"] == ARN.format("sqs", "jobs-dlq")
    assert queues["jobs-dlq"]["is_dlq"] and queues["failures"]["is_dlq"] and not queues["audit"]["is_dlq"]
    functions = {f["name"]: f for f in data["lambda"]}
    assert functions["worker"]["concurrent"] == 2
    assert [m["source"] for m in data["event_source_mappings"]] == [ARN.format("sqs", "jobs")]
    assert "shop" in {b["name"] for b in data["events"]}


def test_topology_draws_every_path(daemon: ServerHandle) -> None:
    graph = get(daemon, "/_eventmesh/topology")
    edges = {(e["from"], e["to"], e["kind"]) for e in graph["edges"]}
    rule = ARN.format("events", "rule/shop/orders")
    handler = ARN.format("lambda", "function:handler")
    mapping = next(n["id"] for n in graph["nodes"] if n["kind"] == "mapping")
    assert (ARN.format("events", "event-bus/shop"), rule, "rule") in edges
    assert (rule, handler, "target") in edges
    assert (handler, ARN.format("sqs", "failures"), "on-failure") in edges
    assert (ARN.format("sns", "alerts"), ARN.format("sqs", "audit"), "subscription") in edges
    assert (ARN.format("sqs", "jobs"), mapping, "poll") in edges
    assert (mapping, ARN.format("lambda", "function:worker"), "invoke") in edges
    assert (ARN.format("sqs", "jobs"), ARN.format("sqs", "jobs-dlq"), "dlq") in edges


def test_dlq_peek_changes_nothing(daemon: ServerHandle) -> None:
    daemon.advance(30)   # both jobs fail, come back after the visibility timeout, and are redriven
    first = get(daemon, "/_eventmesh/messages?queue=jobs-dlq&limit=10")
    again = get(daemon, "/_eventmesh/messages?queue=" + ARN.format("sqs", "jobs-dlq"))
    assert [m["body"] for m in first["messages"]] == ['{"job": 1}', '{"job": 2}']
    assert first["messages"] == again["messages"]
    assert all(m["state"] == "visible" for m in first["messages"])
    sqs = boto3.client("sqs", endpoint_url=daemon.url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    url = sqs.get_queue_url(QueueName="jobs-dlq")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "2" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert sorted(int(m["Attributes"]["ApproximateReceiveCount"]) for m in received) == [2, 2]  # none by the peek


def test_recent_invocations_with_their_logs(daemon: ServerHandle) -> None:
    data = get(daemon, "/_eventmesh/invocations?function=worker&limit=5")
    assert len(data["invocations"]) == 2
    latest = data["invocations"][0]
    assert latest["duration_ms"] == 2000.0 and latest["error_type"] is not None
    assert latest["log"].startswith("START RequestId: ") and "REPORT RequestId: " in latest["log"]


@pytest.mark.parametrize("path", ["/_eventmesh/messages?queue=nope", "/_eventmesh/invocations?function=nope",
                                  "/_eventmesh/messages?queue=jobs&limit=x", "/_eventmesh/nothing"])
def test_bad_requests_get_clear_errors(daemon: ServerHandle, path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(daemon.url + path, timeout=10)
    assert err.value.code in (400, 404) and json.loads(err.value.read())["message"]


def test_the_page_and_its_files_are_served_offline(daemon: ServerHandle) -> None:
    with urllib.request.urlopen(daemon.url + "/_eventmesh/ui", timeout=10) as reply:
        page = reply.read().decode()
        assert reply.headers["Content-Type"].startswith("text/html")
    assert "/_eventmesh/ui/app.js" in page and "/_eventmesh/ui/style.css" in page
    assert "http://" not in page and "https://" not in page    # nothing from elsewhere
    for name in ("app.js", "style.css"):
        with urllib.request.urlopen(f"{daemon.url}/_eventmesh/ui/{name}", timeout=10) as reply:
            text = reply.read().decode()
        assert "https://" not in text and "//cdn" not in text
