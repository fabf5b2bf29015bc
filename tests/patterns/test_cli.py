"""``eventmesh test-pattern`` through run() and ``python -m eventmesh.patterns.cli``."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

from eventmesh.patterns import cli

ENVELOPE = {
    "id": "1",
    "account": "111122223333",
    "source": "aws.ec2",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": [],
    "detail-type": "EC2 Instance State-change Notification",
    "detail": {"state": "running"},
}


def call(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    out = io.StringIO()
    code = cli.run(parser.parse_args(list(argv)), out)
    return code, out.getvalue()


def test_match_prints_true_and_exits_zero() -> None:
    assert call("--pattern", '{"source": ["aws.ec2"]}', "--event", json.dumps(ENVELOPE)) == (0, "true\n")


def test_no_match_prints_false_and_exits_one_with_explanation() -> None:
    code, out = call(
        "--pattern", '{"detail": {"state": ["stopped"]}}', "--event", json.dumps(ENVELOPE), "--explain"
    )
    assert code == 1
    assert out == 'false\ndetail.state: "running" does not match ["stopped"]\n'


def test_invalid_pattern_prints_the_aws_message_and_exits_two() -> None:
    code, out = call("--pattern", '{"source": "aws.ec2"}', "--event", json.dumps(ENVELOPE))
    assert (code, out) == (2, 'Event pattern is not valid. Reason: "source" must be an object or an array\n')


def test_event_without_envelope_is_refused_like_test_event_pattern() -> None:
    assert call("--pattern", '{"a": ["b"]}', "--event", '{"a": "b"}') == (
        2,
        "Parameter Event is not valid.\n",
    )
    assert call("--pattern", '{"a": ["b"]}', "--event", '{"a": "b"}', "--no-envelope-check") == (0, "true\n")


def test_files_are_read_with_at(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"source": ["aws.ec2"]}')
    (tmp_path / "e.json").write_text(json.dumps(ENVELOPE))
    (tmp_path / "s3.json").write_text(json.dumps({**ENVELOPE, "source": "aws.s3"}))
    assert call("--pattern", f"@{tmp_path / 'p.json'}", "--event", f"@{tmp_path / 'e.json'}") == (0, "true\n")
    assert call("--pattern", f"@{tmp_path / 'p.json'}", "--event", f"@{tmp_path / 's3.json'}") == (1, "false\n")


def test_rules_directory_over_events_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ec2.json").write_text('{"source": ["aws.ec2"]}')
    (rules / "running.json").write_text('{"detail": {"state": ["running"]}}')
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(ENVELOPE) + "\n" + json.dumps({"source": "aws.s3"}) + "\n")
    assert call("--rules", str(rules), "--events", str(events)) == (0, "1: ec2, running\n2: -\n")
    as_array = tmp_path / "events.json"
    as_array.write_text(json.dumps([ENVELOPE, {"source": "aws.s3"}]))
    assert call("--rules", str(rules), "--events", str(as_array)) == (0, "1: ec2, running\n2: -\n")


def test_an_events_file_that_is_not_json_events_exits_2_naming_each_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ec2.json").write_text('{"source": ["aws.ec2"]}')
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(ENVELOPE) + "\nnot json\n\n[1]\n")
    code, out = call("--rules", str(rules), "--events", str(events))
    assert code == 2
    assert out.splitlines() == [f"{events}, line 2: not JSON: Expecting value: line 1 column 1 (char 0)",
                                f"{events}, line 4: not a JSON object"]
    events.write_text('[{"source": "aws.ec2"}, 3')
    code, out = call("--rules", str(rules), "--events", str(events))
    assert code == 2 and out.startswith(f"{events}: not a JSON array of events: ")
    events.write_text('[{"source": "aws.ec2"}, 3]')
    assert call("--rules", str(rules), "--events", str(events)) == (2, f"{events}, event 2: not a JSON object\n")
    # An SNS message body may be any text: only the policy decides.
    (rules / "ec2.json").write_text('{"a": ["x"]}')
    events.write_text('"plain"\n{"a": "x"}\n')
    assert call("--flavor", "sns", "--scope", "MessageBody", "--rules", str(rules), "--events", str(events)) == (
        0, "1: -\n2: ec2\n")


def test_sns_flavor(tmp_path: Path) -> None:
    assert call(
        "--flavor",
        "sns",
        "--scope",
        "MessageBody",
        "--pattern",
        '{"a": [{"prefix": "x"}]}',
        "--event",
        '{"a": "xyz"}',
    ) == (0, "true\n")
    attributes = json.dumps({"a": {"Type": "String", "Value": "b"}})
    assert call("--flavor", "sns", "--pattern", '{"a": ["c"]}', "--event", attributes) == (1, "false\n")


def test_module_entry_point() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventmesh.patterns.cli",
            "--pattern",
            '{"source": ["aws.ec2"]}',
            "--event",
            json.dumps(ENVELOPE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "true\n")
