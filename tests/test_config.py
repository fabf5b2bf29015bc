from __future__ import annotations

from pathlib import Path

import pytest

from eventmesh.cli import main
from eventmesh.config import ConfigError, load_config, validate_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("name", ["default.yaml", "example.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_config(CONFIGS / name)
    assert config.account_id == "000000000000"


def test_friendly_values_become_the_api_types() -> None:
    config = load_config(CONFIGS / "example.yaml")
    orders = config.resources["sqs"]["queues"][1]
    assert orders["Attributes"]["VisibilityTimeout"] == "60"
    assert orders["Attributes"]["RedrivePolicy"] == (
        '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":5}')
    assert config.resources["sqs"]["queues"][2]["Attributes"]["FifoQueue"] == "true"


def test_each_problem_names_the_path_of_its_key() -> None:
    problems = validate_config({
        "bogus": 1,
        "account_id": "12",
        "server": {"port": 70000, "clock": "fast", "handover_after": -1},
        "resources": {"sqs": {"queues": [{"Attributes": {}}, "x"], "topics": []},
                      "kinesis": {"streams": [{"StreamName": "s", "ShardCount": "two"}]}},
    })
    assert ("bogus: unknown key (expected one of account_id, data_dir, function_urls, kinesis_shard_limits, "
            "queue_urls, quotas, region, resources, security, seed, server, sns_signatures, templates)") in problems
    assert "account_id: must be 12 digits" in problems
    assert "server.port: must be a port number 0-65535" in problems
    assert "server.clock: must be real or virtual" in problems
    assert "server.handover_after: must be 0 (never) or more" in problems
    assert "resources.sqs.queues[0].QueueName: Member must not be null" in problems
    assert "resources.sqs.queues[1]: must be a mapping" in problems
    assert any(p.startswith("resources.sqs.topics: unknown resource kind") for p in problems)
    assert "resources.kinesis.streams[0].ShardCount: Member must be an integer" in problems


def test_validate_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  sqs:\n    queues:\n      - Attributes: {}\n")
    assert main(["validate", str(CONFIGS / "default.yaml")]) == 0
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "bad.yaml: invalid" in out and "resources.sqs.queues[0].QueueName" in out


def test_unreadable_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("resources: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_example_config_builds_every_declared_resource() -> None:
    from eventmesh.daemon import serve_in_thread

    handle = serve_in_thread(load_config(CONFIGS / "example.yaml"))
    try:
        arns = {resource.arn for resource in handle.mesh.resources()}
        for expected in ("arn:aws:sqs:us-east-1:000000000000:orders",
                         "arn:aws:sqs:us-east-1:000000000000:payments.fifo",
                         "arn:aws:sns:us-east-1:000000000000:order-events",
                         "arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
                         "arn:aws:lambda:us-east-1:000000000000:function:process-order",
                         "arn:aws:events:us-east-1:000000000000:event-bus/shop"):
            assert expected in arns
        mappings = [arn for arn in arns if ":event-source-mapping:" in arn]
        assert len(mappings) == 2
    finally:
        handle.stop()


def test_quotas_raise_aws_defaults_and_unknown_ones_are_named(tmp_path) -> None:
    from eventmesh.daemon import serve_in_thread

    bad = tmp_path / "bad.yaml"
    bad.write_text("quotas:\n  events:\n    Rules per bus: 5\n    Rules per event bus: -1\n  sqs: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert any(p.startswith("quotas.events.Rules per bus: unknown quota") for p in info.value.problems)
    assert "quotas.events.Rules per event bus: must be a whole number >= 0" in info.value.problems
    assert any(p.startswith("quotas.sqs: no adjustable quotas") for p in info.value.problems)
    good = tmp_path / "good.yaml"
    good.write_text("quotas:\n  events:\n    Rules per event bus: 302\n  lambda:\n    Concurrent executions: 5000\n")
    daemon = serve_in_thread(load_config(good))
    try:
        import boto3

        def client(name: str):
            return boto3.client(name, endpoint_url=daemon.url, region_name="us-east-1",
                                aws_access_key_id="x", aws_secret_access_key="x")

        events = client("events")
        for i in range(302):  # AWS's default stops at 300
            events.put_rule(Name=f"r{i}", EventPattern='{"source": ["s"]}')
        with pytest.raises(events.exceptions.LimitExceededException):
            events.put_rule(Name="one-too-many", EventPattern='{"source": ["s"]}')
        settings = client("lambda").get_account_settings()
        assert settings["AccountLimit"]["ConcurrentExecutions"] == 5000
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 5000
    finally:
        daemon.stop()
