"""The command line tells the truth: clean help, a version, one log line per request with -v,
the port from the environment, clear errors for missing files."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventmesh import cli
from eventmesh.daemon import serve_in_thread


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["validate", "--help"],
                                  ["test-pattern", "--help"]])
def test_help_has_no_docstring_markup_or_cut_sentences(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(argv, capsys)
    assert "``" not in text and ":class:" not in text and ":func:" not in text
    # Every help line of a subcommand ends a sentence or a phrase, never with a dangling comma.
    assert not re.search(r",\s*\n\s*\n", text)


def test_subcommand_help_lines_read_as_phrases(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["--help"], capsys)
    assert "run the daemon (all services on one port)" in text
    assert "match an event against an EventBridge pattern or SNS filter" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert _help(["--version"], capsys).strip() == f"eventmesh {version('eventmesh')}"


def _served(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_serve(config: Any, **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr("eventmesh.daemon.serve", fake_serve)
    assert cli.main(["serve", *argv]) == 0
    return seen


def test_port_defaults_to_4566_and_the_environment_sets_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)   # no configs/default.yaml here
    monkeypatch.delenv(cli.PORT_ENV, raising=False)
    assert _served(monkeypatch, [])["port"] == 4566
    monkeypatch.setenv(cli.PORT_ENV, "4599")
    assert _served(monkeypatch, [])["port"] == 4599
    assert _served(monkeypatch, ["--port", "4600"])["port"] == 4600   # the flag wins
    monkeypatch.setenv(cli.PORT_ENV, "http")
    with pytest.raises(SystemExit, match="EVENTMESH_PORT='http' is not a port number"):
        cli.main(["serve"])
    monkeypatch.delenv(cli.PORT_ENV)
    for bad in ("99999", "-1", "x"):   # 99999 would have wrapped around to 34463
        with pytest.raises(SystemExit):
            cli.main(["serve", "--port", bad])
        assert f"argument --port: '{bad}' is not a port number 0-65535" in capsys.readouterr().err


def test_workers_picks_the_multi_process_daemon_and_refuses_a_bad_count(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    group: dict[str, Any] = {}
    monkeypatch.setattr("eventmesh.workers.serve", lambda config, **kwargs: group.update(kwargs))
    assert "workers" not in _served(monkeypatch, ["--workers", "1"])   # one worker: the single daemon
    assert cli.main(["serve", "--workers", "3"]) == 0 and group["workers"] == 3
    assert cli.main(["serve", "--workers", "auto"]) == 0 and group["workers"] == (os.cpu_count() or 1)
    for bad in ("0", "many"):
        with pytest.raises(SystemExit, match=f"--workers '{bad}': a number of processes"):
            cli.main(["serve", "--workers", bad])


def test_a_data_directory_is_refused_with_several_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONHASHSEED", "0")   # as the data directory wants it: no re-execution
    group: dict[str, Any] = {}
    monkeypatch.setattr("eventmesh.workers.serve", lambda config, **kwargs: group.update(kwargs))
    assert cli.main(["serve", "--workers", "2", "--data-dir", str(tmp_path / "state")]) == 2
    assert "--data-dir keeps one process's state" in capsys.readouterr().err
    assert group == {}   # nothing was served


def test_verbose_logs_one_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    handle = serve_in_thread(verbose=True)
    try:
        sqs = boto3.client("sqs", endpoint_url=handle.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        lam = boto3.client("lambda", endpoint_url=handle.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        sts = boto3.client("sts", endpoint_url=handle.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        with caplog.at_level(logging.INFO, logger="eventmesh.access"):
            url = sqs.create_queue(QueueName="orders")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="hi")
            with pytest.raises(lam.exceptions.ResourceNotFoundException):
                lam.get_function(FunctionName="nope")
            sts.get_caller_identity()   # Query like SNS and SQS: named by its Version
    finally:
        handle.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "eventmesh.access"]
    assert len(lines) == 4
    assert re.fullmatch(r"sqs\.CreateQueue orders 200 \d+\.\d\dms", lines[0])
    assert re.fullmatch(r"sqs\.SendMessage orders 200 \d+\.\d\dms", lines[1])
    assert re.fullmatch(r"lambda\.GetFunction nope 404 \d+\.\d\dms", lines[2])
    assert re.fullmatch(r"sts\.GetCallerIdentity - 200 \d+\.\d\dms", lines[3])


def test_test_pattern_with_a_missing_file_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert cli.main(["test-pattern", "--pattern", f"@{missing}", "--event", "{}"]) == 2
    assert capsys.readouterr().out.strip() == f"cannot read {missing}: No such file or directory"
