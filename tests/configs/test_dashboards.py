"""The shipped dashboards and alerting rules use only metric names and labels the daemon
exports: checked against the /metrics of a daemon under a small load."""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from prometheus_client.parser import text_string_to_metric_families

from eventmesh.config import load_config
from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread
from tests.configs import promql

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "example.yaml"
SERVICES = {"overview.json", "sqs.json", "sns.json", "kinesis.json", "events.json", "lambda.json"}


def loaded_daemon(workers: int = 1) -> ServerHandle:
    """The example topology with a little of everything: events through the bus, the topic and
    the queue, records through the stream, a message redriven to the DLQ."""
    handle = serve_in_thread(load_config(EXAMPLE), workers=workers)
    kw = {"endpoint_url": handle.url, "region_name": "us-east-1", "aws_access_key_id": "x",
          "aws_secret_access_key": "x"}
    events, kinesis, sqs, sns = (boto3.client(n, **kw) for n in ("events", "kinesis", "sqs", "sns"))
    events.put_events(Entries=[{"EventBusName": "shop", "Source": "shop.orders", "DetailType": "Order",
                                "Detail": json.dumps({"total": t})} for t in (150, 5)])
    sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:order-events", Message='{"kind": "other"}')
    kinesis.put_records(StreamName="clicks", Records=[
        {"Data": b"{}", "PartitionKey": f"k{i}"} for i in range(20)])
    dlq = sqs.get_queue_url(QueueName="orders-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="dead")
    handle.advance(5)
    return handle


@pytest.fixture(scope="module")
def exported(workers: int) -> Iterator[dict[str, set[str]]]:
    handle = loaded_daemon(workers)
    try:
        with urllib.request.urlopen(handle.url + "/metrics", timeout=10) as reply:
            text = reply.read().decode()
    finally:
        handle.stop()
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    yield labels


def test_a_dashboard_per_service_and_an_overview() -> None:
    boards = promql.dashboards()
    assert set(boards) == SERVICES
    for name, board in boards.items():
        assert board["uid"] == f"eventmesh-{name.removesuffix('.json')}" and board["panels"]
    assert {v[0] for v in promql.variables()} == SERVICES - {"overview.json"}   # per-resource variables


def test_the_dashboards_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("build_dashboards", ROOT / "tools" / "build_dashboards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


def test_every_metric_name_exists(exported: dict[str, set[str]]) -> None:
    missing = [(where, name) for where, expr, _ in promql.expressions() for name in promql.metrics_in(expr)
               if name not in exported]
    missing += [(board, metric) for board, metric, _ in promql.variables() if metric not in exported]
    assert missing == []


def test_every_label_exists_on_its_metric(exported: dict[str, set[str]]) -> None:
    missing = []
    for where, expr, legend in promql.expressions():
        for metric, label, op, value in promql.selector_labels(expr):
            # label="" selects the series without the label: it may be absent from some.
            if label not in exported.get(metric, set()) and not (op == "=" and value == ""):
                missing.append((where, metric, label))
        names = promql.metrics_in(expr)
        available = set().union(*(exported.get(n, set()) for n in names)) | {"le"}
        missing += [(where, "by/on", label) for label in promql.grouping_labels(expr) if label not in available]
        missing += [(where, "legend", label) for label in promql.legend_labels(legend) if label not in available]
    missing += [(board, metric, label) for board, metric, label in promql.variables()
                if label not in exported.get(metric, set())]
    assert missing == []
