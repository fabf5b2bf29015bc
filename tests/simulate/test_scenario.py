"""Scenario files: includes, overrides, and every problem named by its key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eventmesh.simulate.paths import PathError, set_path
from eventmesh.simulate.scenario import ScenarioError, load_scenario, validate_scenario
from tests.simulate.helpers import function, scenario

ROOT = Path(__file__).resolve().parents[2]


def _problems(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as bad:
        validate_scenario(data)
    return bad.value.problems


def test_every_problem_is_named_by_its_key_path():
    data = scenario("1h", resources={"sqs": {"queues": [{"QueueName": "q"}]},
                                     "lambda": {"functions": [{"FunctionName": "f", "Handler": "x", "Code": {}}]}},
                    load=[{"name": "a", "api": "SendMessageBatch", "target": "q", "batch": 11, "rate": -1},
                          {"name": "b", "api": "PutEvents", "target": "nobus", "rate": {"profile": "sine", "mean": 1},
                           "payload": {"detail": "{nosuch}", "body": "x"}},
                          {"name": "c", "api": "Teleport", "target": "q", "rate": 1}],
                    faults=[{"kind": "latency", "target": "f"}], colour="blue")
    data["report"] = {"period": "1m", "sample": "7s"}
    problems = _problems(data)
    assert "colour: unknown key (expected one of account_id, description, duration, faults, handlers, http, " \
           "include, latency, load, name, region, report, resources, seed, sweep)" in problems
    assert "load[0].batch: SendMessageBatch takes 1 to 10 entries per call" in problems
    assert "load[0].rate: must be a rate in events/s >= 0" in problems
    assert "load[1].target: no events resource named nobus in the scenario" in problems
    assert "load[1].rate.amplitude: required by a sine profile" in problems
    assert "load[1].payload.body: not a field of this API's entries (takes detail, detail_type, source, or file)" \
        in problems
    assert any(p.startswith("load[1].payload.detail: unknown field {nosuch}") for p in problems)
    assert any(p.startswith("load[2].api: must be one of PutEvents") for p in problems)
    assert "faults[0].latency: required for a latency fault (e.g. 200ms)" in problems
    assert "report.sample: must divide report.period and be at least 0.01s" in problems
    # The resources are checked by the config machinery, against the AWS model.
    assert "resources.lambda.functions[0].Role: Member must not be null" in problems
    assert _problems({"load": []}) == ["duration: required (virtual time, e.g. 1h)"]
    # A zero period is refused, not replaced by the default without a word.
    assert _problems({"duration": "1m", "report": {"period": "0s"}}) == [
        "report.period: must be a duration > 0, not '0s'"]
    assert _problems({"duration": "1m", "report": {"sample": 0}}) == ["report.sample: must be a duration > 0, not 0"]


def test_an_included_config_provides_the_resources_and_settings_override_values(tmp_path):
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump({
        "region": "eu-west-1", "resources": {"lambda": {"functions": [function("f", "model:duration=1ms")]},
                                             "sqs": {"queues": [{"QueueName": "q"}]}}}))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "include": "topology.yaml", "duration": "10m", "resources": {"sqs": {"queues": [{"QueueName": "r"}]}},
        "load": [{"name": "l", "api": "SendMessage", "target": "q", "rate": 5}],
        "sweep": {"functions.f.ReservedConcurrentExecutions": [1, 2]}}))
    loaded = load_scenario(tmp_path / "s.yaml", ["load.l.rate=7", "functions.f.MemorySize=256", "duration=2m"],
                           seed=9)
    assert loaded.name == "s" and loaded.region == "eu-west-1" and loaded.seed == 9 and loaded.duration_s == 120
    assert [q["QueueName"] for q in loaded.resources["sqs"]["queues"]] == ["q", "r"]
    assert loaded.resources["lambda"]["functions"][0]["MemorySize"] == 256
    assert loaded.load[0].profile.rate(0) == 7
    assert loaded.sweep == [("functions.f.ReservedConcurrentExecutions", [1, 2])]
    with pytest.raises(ScenarioError, match="--set functions.g.MemorySize: no item named g"):
        load_scenario(tmp_path / "s.yaml", ["functions.g.MemorySize=1"])


def test_paths_by_name_and_by_index():
    data = {"resources": {"lambda": {"event_source_mappings": [
        {"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q", "FunctionName": "w"}]}}, "load": [{"batch": 1}]}
    set_path(data, "event_source_mappings.w.ScalingConfig.MaximumConcurrency", 4)
    set_path(data, "load[0].batch", 10)
    assert data["resources"]["lambda"]["event_source_mappings"][0]["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert data["load"][0]["batch"] == 10
    with pytest.raises(PathError):
        set_path(data, "load[3].batch", 1)


def test_eventmesh_validate_checks_scenarios_and_configs(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"duration": "soon", "load": [{"api": "PutEvents", "rate": 1, "payload": 3}]}))
    run = subprocess.run([sys.executable, "-m", "eventmesh", "validate", str(bad), "configs/example.yaml",
                          *map(str, sorted((ROOT / "configs" / "scenarios").glob("*.yaml")))],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[:3] == [f"{bad}: invalid",
                         "  duration: must be a duration (a number or a string such as '500ms', '30s', '10m', "
                         "'1h'), not 'soon'",
                         "  load[0].payload: must be a mapping of the API's fields, or {file: samples.jsonl}"]
    assert "configs/example.yaml: ok" in lines
    assert all(line.endswith(": ok") for line in lines if "scenarios" in line), lines


def test_the_latency_section_sets_edges_over_the_aws_defaults():
    from eventmesh.simulate.scenario import latency_model

    data = scenario("1m", resources={"sqs": {"queues": [{"QueueName": "q"}]}}, load=[])
    data["latency"] = {"events->sqs": "250ms", "sns": 0, "*": "20ms"}
    model = latency_model(validate_scenario(data))
    rule, queue = "arn:aws:events:us-east-1:000000000000:rule/r", "arn:aws:sqs:us-east-1:000000000000:q"
    assert model.between(rule, queue) == 0.25
    assert model.between(rule, "arn:aws:lambda:us-east-1:000000000000:function:f") == 0.13   # AWS's figure
    assert model.between("arn:aws:sns:us-east-1:000000000000:t", queue) == 0.0
    assert model.between(queue, queue) == 0.02
    data["latency"] = {"events->": "1s", "sqs": "-1s", "lambda": "soon"}
    problems = _problems(data)
    assert any(p.startswith("latency.events->: ") for p in problems)
    assert any(p.startswith("latency.sqs: ") for p in problems)
    assert any(p.startswith("latency.lambda: ") for p in problems)


def test_a_scenarios_raw_mapping_keeps_what_it_was_made_from():
    # Sweeps and partitions rebuild variants from ``raw``: a function's reserved concurrency and
    # invoke config must survive it.
    data = scenario("1m", resources={"lambda": {"functions": [
        function("f", "model:duration=1ms", ReservedConcurrentExecutions=3,
                 EventInvokeConfig={"MaximumRetryAttempts": 0})]}}, load=[])
    checked = validate_scenario(data)
    assert validate_scenario(checked.raw).function_extras == checked.function_extras == {
        "f": {"ReservedConcurrentExecutions": 3, "EventInvokeConfig": {"MaximumRetryAttempts": 0}}}
