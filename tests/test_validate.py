"""``eventmesh validate`` tells the truth: it refuses what ``serve`` refuses, all of it at once,
and the daemon's own start-up refuses the same configs for the same reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eventmesh.cli import main
from eventmesh.config import Config, ConfigError, _normalized, check_config
from eventmesh.daemon import serve_in_thread

ROLE = "arn:aws:iam::000000000000:role/r"
Q = "arn:aws:sqs:us-east-1:000000000000"

# Each config passes the model's checks but not the handlers': references, attributes, patterns,
# filter policies, handler settings. (name, resources, a fragment of the expected problem)
BROKEN = [
    ("redrive to a missing queue", {"sqs": {"queues": [{"QueueName": "a", "Attributes": {
        "RedrivePolicy": {"deadLetterTargetArn": f"{Q}:missing", "maxReceiveCount": 3}}}]}},
     "resources.sqs.queues[0]: InvalidParameterValue"),
    ("attribute out of range", {"sqs": {"queues": [{"QueueName": "a", "Attributes": {"VisibilityTimeout": 99999}}]}},
     "resources.sqs.queues[0]: InvalidAttributeValue"),
    ("queue name with a space", {"sqs": {"queues": [{"QueueName": "bad name"}]}},
     "resources.sqs.queues[0]: InvalidParameterValue"),
    ("invalid event pattern", {"events": {"rules": [{"Name": "r", "EventPattern": {"source": [{"prefix": 1}]}}]}},
     "resources.events.rules[0]: InvalidEventPatternException"),
    ("target of a rule on a missing bus", {"events": {"rules": [{"Name": "r", "EventBusName": "nope",
                                                                 "EventPattern": {"source": ["x"]}}]}},
     "resources.events.rules[0]: ResourceNotFoundException"),
    ("invalid filter policy", {"sns": {"topics": [{"Name": "t"}], "subscriptions": [{
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Protocol": "sqs", "Endpoint": f"{Q}:x",
        "Attributes": {"FilterPolicy": {"a": [{"nope": 1}]}}}]}},
     "resources.sns.subscriptions[0]: InvalidParameter"),
    ("model handler setting", {"lambda": {"functions": [{"FunctionName": "f", "Role": ROLE,
                                                         "Handler": "model:p50=fast", "Code": {}}]}},
     "resources.lambda.functions[0]: InvalidParameterValueException"),
    ("mapping from a missing queue", {"lambda": {"functions": [{"FunctionName": "f", "Role": ROLE,
                                                                "Handler": "model:duration=1ms", "Code": {}}],
                                                 "event_source_mappings": [{"EventSourceArn": f"{Q}:missing",
                                                                            "FunctionName": "f"}]}},
     "resources.lambda.event_source_mappings[0]: "),
]


def _write(tmp_path: Path, name: str, resources: dict[str, object]) -> Path:
    path = tmp_path / (name.replace(" ", "-") + ".yaml")
    path.write_text(yaml.safe_dump({"resources": resources}))
    return path


@pytest.mark.parametrize(("name", "resources", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_validate_and_serve_refuse_the_same_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, name: str,
                                                    resources: dict[str, object], expected: str) -> None:
    def must_not_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve accepted a config validate refuses")

    monkeypatch.setattr("eventmesh.daemon.serve", must_not_start)   # a regression fails, never hangs
    path = _write(tmp_path, name, resources)
    assert main(["validate", str(path)]) == 1
    validate_out = capsys.readouterr().out
    problems = [line.strip() for line in validate_out.splitlines()[1:]]
    assert any(p.startswith(expected) for p in problems), problems
    assert main(["serve", "--config", str(path), "--port", "0"]) == 2
    serve_err = capsys.readouterr().err
    assert [line.strip() for line in serve_err.splitlines()[1:]] == problems
    # The daemon's own start-up (no loader in front of it) refuses it for the same reasons.
    unchecked = Config(resources=_normalized(resources), source=str(path))
    with pytest.raises(ConfigError) as refused:
        serve_in_thread(unchecked)
    assert refused.value.problems == problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    merged: dict[str, dict[str, list[object]]] = {}
    for _, resources, _ in BROKEN:
        for service, group in resources.items():
            for key, items in group.items():  # type: ignore[attr-defined]
                merged.setdefault(service, {}).setdefault(key, []).extend(items)
    # Names repeat across the cases: keep the ones the cases need distinct.
    merged["lambda"]["functions"] = merged["lambda"]["functions"][:1] + [dict(
        merged["lambda"]["functions"][1], FunctionName="g")]
    _, problems = check_config(_write(tmp_path, "all", merged))
    kinds = {p.split(":", 1)[0] for p in problems}
    assert {"resources.sqs.queues[0]", "resources.sqs.queues[1]", "resources.sqs.queues[2]",
            "resources.events.rules[0]", "resources.events.rules[1]", "resources.sns.subscriptions[0]",
            "resources.lambda.functions[0]"} <= kinds


def test_model_problems_and_handler_problems_come_together(tmp_path: Path) -> None:
    path = _write(tmp_path, "mixed", {"sqs": {"queues": [{"Attributes": {}}]},
                                      "kinesis": {"streams": [{"StreamName": "s", "ShardCount": "two"}]}})
    _, problems = check_config(path)
    assert "resources.sqs.queues[0].QueueName: Member must not be null" in problems
    assert "resources.kinesis.streams[0].ShardCount: Member must be an integer" in problems


def test_a_valid_config_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "fine", {"sqs": {"queues": [{"QueueName": "dlq"}, {"QueueName": "a", "Attributes": {
        "RedrivePolicy": {"deadLetterTargetArn": f"{Q}:dlq", "maxReceiveCount": 3}}}]}})
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok"
