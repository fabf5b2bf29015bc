"""eventmesh simulate from the command line: outputs, exit codes, the progress bar on a TTY."""

from __future__ import annotations

import io
import json
import os
import pty
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
