"""eventmesh simulate from the command line: outputs, exit codes, the progress bar on a TTY."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import yaml

from eventmesh.simulate.progress import Progress
from tests.simulate.helpers import scenario

ROOT = Path(__file__).resolve().parents[2]


def _file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _small() -> dict:
    return scenario("2m", resources={"sqs": {"queues": [{"QueueName": "q"}]}},
                    load=[{"name": "p", "api": "SendMessage", "target": "q", "rate": 5}])


def test_simulate_writes_its_files_prints_the_totals_and_takes_settings(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "eventmesh", "simulate", str(_file(tmp_path, _small())),
                          "--out", str(out), "--set", "load.p.rate=10", "--seed", "4"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "plots", "report.html", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["events"] == 1_200 and summary["balanced"] is True
    assert "generator  p     1,200" in run.stdout
    assert run.stderr == ""   # not a terminal: no progress bar


def test_an_invalid_scenario_exits_2_with_its_problems(tmp_path):
    data = _small()
    data["load"][0]["batch"] = 0
    run = subprocess.run([sys.executable, "-m", "eventmesh", "simulate", str(_file(tmp_path, data))],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.splitlines()[1:] == ["  load[0].batch: SendMessage takes 1 to 1 entries per call"]


def test_the_progress_bar_draws_on_a_terminal_only(tmp_path):
    leader, follower = pty.openpty()
    run = subprocess.run([sys.executable, "-m", "eventmesh", "simulate", str(_file(tmp_path, _small()))],
                         cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                         timeout=300, env={**os.environ, "COLUMNS": "120"})
    os.close(follower)
    drawn = b""
    try:
        while chunk := os.read(leader, 65536):
            drawn += chunk
    except OSError:
        pass
    os.close(leader)
    assert run.returncode == 0
    last = drawn.decode().rstrip().rsplit("\r", 1)[-1]
    assert last.startswith("test [########################] 100.0% 2m00s/2m00s virtual") and "events/s" in last


def test_the_bar_shows_virtual_time_rate_and_eta():
    ticks = iter([0.0, 10.0, 10.0])
    bar = Progress(100.0, "run", io.StringIO(), force=True, wall=lambda: next(ticks))
    assert bar.line(25.0, 5_000) == ("run [######..................]  25.0% 25s/1m40s virtual  "
                                     "500 events/s  ETA 30s")
    assert not Progress(10.0, stream=io.StringIO()).enabled


def _two_buses() -> dict:
    # Two buses, each with a rule into its own queue: two groups with a 130 ms edge between them
    # (events->sqs), so two partitions really split the run and frames cross.
    queues = [{"QueueName": f"{name}-q"} for name in ("a", "b")]
    rules = [{"Name": f"to-{name}", "EventBusName": name, "EventPattern": {"source": [name]},
              "Targets": [{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:000000000000:{other}-q"}]}
             for name, other in (("a", "b"), ("b", "a"))]
    load = [{"name": name, "api": "PutEvents", "target": name, "batch": 10, "rate": 50,
             "payload": {"source": name, "detail": {"n": "{counter}"}}} for name in ("a", "b")]
    return scenario("1m", resources={"sqs": {"queues": queues},
                                     "events": {"buses": [{"Name": "a"}, {"Name": "b"}], "rules": rules}},
                    load=load)


def _simulate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eventmesh", "simulate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_partitions_give_the_files_of_one_process_and_print_where_the_time_went(tmp_path):
    path = _file(tmp_path, _two_buses())
    one = _simulate(str(path), "--out", str(tmp_path / "one"), "--no-report")
    two = _simulate(str(path), "--out", str(tmp_path / "two"), "--no-report", "--partitions", "2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "two")]
    for summary in summaries:
        summary.pop("wall_seconds")
        summary.pop("events_per_wall_second")
    assert summaries[0] == summaries[1] and summaries[0]["events"] == 6_000
    assert (tmp_path / "one" / "metrics.csv").read_text() == (tmp_path / "two" / "metrics.csv").read_text()
    assert "partitions: 2, lookahead 0.13 s" in two.stdout
    # Per partition: its time running and at barriers, and what crossed: each of the 300 PutEvents
    # calls of a bus reaches the other's queue as one delivery, and its answer comes back (all but
    # the deliveries still on their way at the end).
    shape = r"  partition \d: [\d.]+ s running, [\d.]+ s at barriers, [\d.]+ s CPU, (\d+) items sent, (\d+) received"
    crossed = [re.fullmatch(shape, line) for line in two.stdout.splitlines() if "at barriers" in line]
    assert len(crossed) == 2 and all(m and 590 <= int(m[1]) <= 600 and 590 <= int(m[2]) <= 600 for m in crossed)
    assert "partitions:" not in one.stdout


def test_a_bad_partition_count_exits_2_and_says_what_it_takes(tmp_path):
    for value in ("0", "two", "-1"):
        run = _simulate(str(_file(tmp_path, _small())), "--partitions", value)
        assert run.returncode == 2
        assert f"--partitions takes a whole number >= 1 or auto, not {value}" in run.stderr


def test_a_job_count_below_one_exits_2(tmp_path):
    run = _simulate(str(_file(tmp_path, _small())), "--jobs", "0")
    assert run.returncode == 2
    assert "--jobs takes a whole number >= 1, not 0" in run.stderr


def test_partitions_and_a_sweep_exit_2(tmp_path):
    data = _small()
    data["sweep"] = {"load.p.rate": [1, 2]}
    run = _simulate(str(_file(tmp_path, data)), "--partitions", "2")
    assert run.returncode == 2
    assert "--partitions splits one run; a sweep runs its variants in parallel already" in run.stderr
    assert not list(tmp_path.glob("out*"))


def test_a_resource_the_service_refuses_is_a_problem_of_the_scenario_not_a_traceback(tmp_path):
    path = _file(tmp_path, _small())
    setting = "resources.sqs.queues[0].Attributes.VisibilityTimeout=99999"   # past 12 hours
    refused = "resources.sqs.queues[0]: InvalidAttributeValue: Invalid value for the parameter VisibilityTimeout."
    run = _simulate(str(path), "--set", setting, "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [f"{path}: the scenario cannot run", f"  {refused}"]
    assert not (tmp_path / "out").exists()
    data = _small()
    data["sweep"] = {"resources.sqs.queues[0].Attributes.VisibilityTimeout": [30, 99999]}
    run = _simulate(str(_file(tmp_path, data)), "--jobs", "1")
    assert run.returncode == 2
    assert f"  variant VisibilityTimeout=99999: {refused}" in run.stderr.splitlines()
    # eventmesh validate creates the resources as a run would, and says the same.
    data = _small()
    data["resources"]["sqs"]["queues"][0]["Attributes"] = {"VisibilityTimeout": 99999}
    check = subprocess.run([sys.executable, "-m", "eventmesh", "validate", str(_file(tmp_path, data))], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1
    assert check.stdout.splitlines() == [f"{path}: invalid", f"  {refused}"]
