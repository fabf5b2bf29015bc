"""A real Prometheus (Debian's ``prometheus`` package; skipped when the binary is absent)
scrapes the daemon with the shipped scrape settings and rules, and answers every dashboard
expression: the PromQL is valid and the panels that read gauges have data."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.configs import promql
from tests.configs.test_dashboards import loaded_daemon

PROMETHEUS = shutil.which("prometheus")
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "prometheus"
SCRAPE_INTERVAL_S = 1
# Real time, for an external process: start-up, and two scrapes at SCRAPE_INTERVAL_S.
READY_TIMEOUT_S = 60
POLL_S = 0.2

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="no prometheus binary installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(base: str, path: str, **params: str) -> Any:
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass   # not listening yet
        time.sleep(POLL_S)
    raise AssertionError(f"Prometheus: {what} within {READY_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    daemon = loaded_daemon()
    workdir = tmp_path_factory.mktemp("prometheus")
    config = yaml.safe_load((CONFIGS / "prometheus.yml").read_text())
    config["global"].update(scrape_interval=f"{SCRAPE_INTERVAL_S}s", evaluation_interval=f"{SCRAPE_INTERVAL_S}s")
    config["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{daemon.daemon.bound_port}"]}]
    config["rule_files"] = [str(CONFIGS / "rules.yml")]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    assert PROMETHEUS is not None
    process = subprocess.Popen([PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}",
                                f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=(workdir / "log.txt").open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: any(t["health"] == "up" for t in _api(base, "targets")["data"]["activeTargets"]),
              "the daemon's target up")
        up = 'count_over_time(up{job="eventmesh"}[1m])'
        _wait(lambda: float((_api(base, "query", query=up)["data"]["result"] or [{"value": [0, "0"]}])[0]["value"][1])
              >= 3, "three scrapes")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        daemon.stop()


def test_the_daemon_is_scraped_and_the_rules_load(prometheus: str) -> None:
    targets = _api(prometheus, "targets")["data"]["activeTargets"]
    assert [t["health"] for t in targets] == ["up"] and targets[0]["scrapeUrl"].endswith("/metrics")
    groups = _api(prometheus, "rules")["data"]["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert set(rules) == {"DeadLetterQueueGrowing", "LambdaThrottling", "IteratorAgeRising"}
    assert all(r["health"] == "ok" for r in rules.values()), rules


def test_every_dashboard_expression_is_answered(prometheus: str) -> None:
    for where, expr, _ in promql.expressions():
        reply = _api(prometheus, "query", query=promql.concrete(expr))
        assert reply["status"] == "success", (where, reply)


@pytest.mark.parametrize(("expr", "labels"), [
    ("aws_sqs_approximate_number_of_messages_visible and on (queue_name) eventmesh_sqs_dead_letter_queue",
     {"queue_name": "orders-dlq"}),
    ("aws_lambda_event_source_mapping_shard_iterator_age_seconds",
     {"function_name": "count-clicks", "event_source_name": "clicks"}),
    ('aws_lambda_concurrent_executions{function_name="process-order"}', {"function_name": "process-order"}),
])
def test_gauge_panels_have_data(prometheus: str, expr: str, labels: dict[str, str]) -> None:
    result = _api(prometheus, "query", query=expr)["data"]["result"]
    assert result and all(labels.items() <= r["metric"].items() for r in result)
