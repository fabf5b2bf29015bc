"""Templates → the create-call requests the config loader speaks: names, references, code,
parameters, problems and the resources that create nothing here."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from eventmesh.cli import main
from eventmesh.config import apply_config, check_config, load_config
from eventmesh.services.lambda_.service import list_functions
from eventmesh.templates import load_template, parse_overrides

SAM_APP = Path(__file__).resolve().parent / "sam_app" / "template.yaml"

CFN = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: dev, AllowedPattern: "[a-z]+"}
  Retention: {Type: Number, Default: 48, MinValue: 24, MaxValue: 168}
Resources:
  Dlq:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${Env}-dlq", MessageRetentionPeriod: 1209600}
  Ordered:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true}
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 3}
      Tags: [{Key: team, Value: core}]
  Events:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 2, RetentionPeriodHours: !Ref Retention}
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Subscription: [{Protocol: sqs, Endpoint: !GetAtt Dlq.Arn}]
  Worker:
    Type: AWS::Lambda::Function
    Properties:
      Handler: model:duration=1ms
      Role: !Sub "arn:aws:iam::${AWS::AccountId}:role/worker"
      Code: {ZipFile: "def handler(e, c): pass"}
      ReservedConcurrentExecutions: 5
      Environment: {Variables: {QUEUE: !Ref Jobs, STREAM: !GetAtt Events.Arn}}
  Version:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Worker}
  Live:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Worker, Name: live, FunctionVersion: !GetAtt Version.Version}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Jobs.Arn, FunctionName: !Ref Live, BatchSize: 10}
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: orders}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !GetAtt Bus.Arn
      EventPattern: {source: [shop]}
      Targets: [{Id: t, Arn: !Ref Topic}]
  Bucket:
    Type: AWS::S3::Bucket
Outputs:
  RuleRef: {Value: !Ref Rule}
  AliasArn: {Value: !Ref Live}
"""


def _items(tmp_path: Path, text: str = CFN, **kwargs: object) -> dict[str, list[dict[str, object]]]:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    loaded = load_template(path, **kwargs)  # type: ignore[arg-type]
    assert loaded.problems == []
    out: dict[str, list[dict[str, object]]] = {}
    for service, key, params in loaded.items:
        out.setdefault(f"{service}.{key}", []).append(params)
    return out


def test_cloudformation_resources_become_create_calls(tmp_path: Path) -> None:
    items = _items(tmp_path)
    dlq, ordered, jobs = items["sqs.queues"]
    assert dlq == {"QueueName": "dev-dlq", "Attributes": {"MessageRetentionPeriod": 1209600}}
    assert ordered["QueueName"] == "Ordered.fifo"   # a FIFO queue without a name: logical id + .fifo
    assert jobs["Attributes"] == {"RedrivePolicy": {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dev-dlq", "maxReceiveCount": 3}}
    assert jobs["tags"] == {"team": "core"}
    assert items["kinesis.streams"] == [{"StreamName": "Events", "ShardCount": 2, "RetentionPeriodHours": "48"}]
    assert items["sns.subscriptions"] == [{"TopicArn": "arn:aws:sns:us-east-1:000000000000:Topic",
                                           "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:dev-dlq"}]
    worker = items["lambda.functions"][0]
    assert worker["Environment"] == {"Variables": {
        "QUEUE": "http://localhost:4566/000000000000/Jobs",
        "STREAM": "arn:aws:kinesis:us-east-1:000000000000:stream/Events"}}
    assert worker["ReservedConcurrentExecutions"] == 5
    archive = zipfile.ZipFile(io.BytesIO(worker["Code"]["ZipFile"]))  # type: ignore[index]
    assert archive.namelist() == ["index.py"]   # where CloudFormation writes inline code
    assert items["lambda.versions"] == [{"FunctionName": "Worker"}]
    assert items["lambda.aliases"] == [{"FunctionName": "Worker", "Name": "live", "FunctionVersion": "1"}]
    assert items["lambda.event_source_mappings"][0]["FunctionName"] == (
        "arn:aws:lambda:us-east-1:000000000000:function:Worker:live")
    assert items["events.rules"] == [{"Name": "Rule", "EventBusName": "orders", "EventPattern": {"source": ["shop"]},
                                      "Targets": [{"Id": "t", "Arn": "arn:aws:sns:us-east-1:000000000000:Topic"}]}]


def test_outputs_and_unserved_types_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(CFN)
    loaded = load_template(path, region="eu-west-1", account_id="123456789012")
    assert loaded.outputs == {"RuleRef": "orders|Rule",
                              "AliasArn": "arn:aws:lambda:eu-west-1:123456789012:function:Worker:live"}
    assert loaded.unserved == [("Bucket", "AWS::S3::Bucket")]
    assert loaded.summary()[0].endswith("not served here, not created: Bucket (AWS::S3::Bucket)")


def test_a_function_may_name_a_public_layer_of_another_account(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    public = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:46"
    path.write_text(
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties:\n"
        "      Runtime: python3.12\n"
        "      Handler: index.handler\n"
        "      Role: arn:aws:iam::000000000000:role/r\n"
        "      Code: {ZipFile: 'def handler(event, context): return 1'}\n"
        f"      Layers: [{public}]\n")
    loaded = load_template(path)
    assert [item[2]["Layers"] for item in loaded.items] == [[public]]
    mesh, api = _engine()
    apply_config(load_config(path), api)
    (function,) = list_functions(mesh)
    assert [ref.arn for ref in function.latest.config.layers] == [public]


def test_a_sam_layer_from_a_local_directory_is_published_and_its_function_imports_from_it(tmp_path: Path) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "greeting.py").write_text("WORDS = 'from the layer'\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "import greeting\n\ndef handler(event, context):\n    return greeting.WORDS\n")
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Deps:\n"
        "    Type: AWS::Serverless::LayerVersion\n"
        "    Properties: {LayerName: shared-deps, ContentUri: ./layer, CompatibleRuntimes: [python3.12]}\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: ./src, Layers: [!Ref Deps]}\n")
    loaded = load_template(path, region="eu-west-1", account_id="123456789012")
    assert loaded.problems == [] and loaded.unserved == []
    (layer,) = [params for service, key, params in loaded.items if key == "layers"]
    assert layer["LayerName"] == "shared-deps" and layer["CompatibleRuntimes"] == ["python3.12"]
    assert zipfile.ZipFile(io.BytesIO(layer["Content"]["ZipFile"])).namelist() == ["python/greeting.py"]
    (function,) = [params for service, key, params in loaded.items if key == "functions"]
    assert function["Layers"] == ["arn:aws:lambda:eu-west-1:123456789012:layer:shared-deps:1"]

    mesh, api = _engine()   # the config loader's Region and account
    apply_config(load_config(path), api)
    (fn,) = list_functions(mesh)
    assert [(ref.arn, ref.code_size) for ref in fn.latest.config.layers] == [
        ("arn:aws:lambda:us-east-1:000000000000:layer:shared-deps:1", len(layer["Content"]["ZipFile"]))]
    answers: list[Any] = []
    fn.invoke(b"{}", on_done=answers.append)
    mesh.flush()
    mesh.clock.advance(1)  # type: ignore[attr-defined]
    assert [a.payload for a in answers] == [b'"from the layer"']


def test_a_sam_function_url_and_provisioned_concurrency_are_created_on_its_alias(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.12\n"
        "      Handler: app.handler\n"
        "      CodeUri: ./src\n"
        "      AutoPublishAlias: live\n"
        "      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 3}\n"
        "      FunctionUrlConfig: {AuthType: NONE, Cors: {AllowOrigins: ['*']}}\n"
        "Outputs:\n"
        "  Url: {Value: !GetAtt FnUrl.FunctionUrl}\n")
    loaded = load_template(path)
    assert loaded.problems == [] and loaded.unserved == []
    (url,) = [params for service, key, params in loaded.items if key == "function_urls"]
    assert url == {"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:Fn", "AuthType": "NONE",
                   "Cors": {"AllowOrigins": ["*"]}, "Qualifier": "live"}
    mesh, api = _engine()
    apply_config(load_config(path), api)
    answered = api.call("lambda", "GetFunctionUrlConfig", {"FunctionName": "Fn", "Qualifier": "live"})
    assert answered["FunctionUrl"] == loaded.outputs["Url"]
    assert answered["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:Fn:live"
    warm = api.call("lambda", "GetProvisionedConcurrencyConfig", {"FunctionName": "Fn", "Qualifier": "live"})
    assert (warm["Status"], warm["AllocatedProvisionedConcurrentExecutions"]) == ("READY", 3)


def _engine() -> tuple[Any, Any]:
    from eventmesh.drivers.lambda_.runner import install_virtual_runner
    from eventmesh.services import adapters
    from eventmesh.testing import virtual_mesh
    from eventmesh.wire.router import Api

    mesh, _ = virtual_mesh()
    install_virtual_runner(mesh)
    return mesh, Api(mesh, adapters())


def test_the_template_deploys_through_the_same_handlers(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(CFN)
    config = load_config(path)   # a template given where a config goes
    assert len(config.resources["lambda"]["event_source_mappings"]) == 1
    assert config.origins["resources.sqs.queues[2]"] == f"{path}: Resources.Jobs (AWS::SQS::Queue)"


def test_parameters_overrides_and_their_constraints(tmp_path: Path) -> None:
    items = _items(tmp_path, parameters={"Env": "qa"})
    assert items["sqs.queues"][0]["QueueName"] == "qa-dlq"
    path = tmp_path / "stack.yaml"
    problems = load_template(path, parameters={"Env": "QA1", "Retention": "12", "Nope": "x"}).problems
    assert "Parameters.Nope: the template declares no such parameter" in problems
    assert "Parameters.Env: 'QA1' does not match the AllowedPattern [a-z]+" in problems
    assert "Parameters.Retention: less than MinValue 24" in problems
    assert parse_overrides(["A=1 B=x=y", "ParameterKey=C,ParameterValue=3"]) == {"A": "1", "B": "x=y", "C": "3"}
    with pytest.raises(ValueError, match="not Key=Value"):
        parse_overrides(["novalue"])


def test_template_problems_carry_their_resource_and_property(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("""
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 99999, Colour: blue}
  F:
    Type: AWS::Lambda::Function
    Properties:
      Role: arn:aws:iam::000000000000:role/r
      Handler: model:p50=oops
      Code: {S3Bucket: b, S3Key: k.zip}
  R:
    Type: AWS::Events::Rule
    Properties: {EventPattern: {source: [{prefix: 1}]}, Targets: [{Id: t, Arn: !GetAtt Missing.Arn}]}
""")
    _, problems = check_config(path)
    assert f"{path}: Resources.Q.Properties.Colour: unsupported property for AWS::SQS::Queue" in problems
    assert any(p.startswith(f"{path}: Resources.F.Properties.Code: code at s3://b/k.zip cannot be fetched")
               for p in problems)
    assert any("Resources.R: unresolved reference to Missing" in p for p in problems)


def test_validate_accepts_templates_and_reports_what_is_not_created(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SAM_APP)]) == 0
    out = capsys.readouterr().out
    assert f"{SAM_APP}: ok" in out and "Table (AWS::DynamoDB::Table)" in out
    assert main(["validate", str(SAM_APP), "--parameter-overrides", "Stage=staging"]) == 1
    assert "AllowedValues" in capsys.readouterr().out


def test_a_template_alone_becomes_a_config_for_a_simulation(tmp_path: Path) -> None:
    from eventmesh.config import ConfigError, resources_from_template

    path = tmp_path / "stack.yaml"
    path.write_text(CFN)
    config = resources_from_template(path, parameters={"Env": "sim"}, region="eu-west-1")
    queues = config.resources["sqs"]["queues"]
    assert queues[0] == {"QueueName": "sim-dlq", "Attributes": {"MessageRetentionPeriod": "1209600"}}
    assert config.resources["events"]["rules"][0]["EventPattern"] == '{"source":["shop"]}'
    with pytest.raises(ConfigError, match="AllowedPattern"):
        resources_from_template(path, parameters={"Env": "SIM"})


def test_a_config_names_templates_beside_its_own_resources(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(CFN)
    config_path = tmp_path / "mesh.yaml"
    config_path.write_text("templates:\n  - {path: stack.yaml, parameters: {Env: cfg}, stack_name: shop}\n"
                           "resources:\n  sqs:\n    queues:\n      - QueueName: own\n")
    config = load_config(config_path)
    names = [q["QueueName"] for q in config.resources["sqs"]["queues"]]
    assert names == ["own", "cfg-dlq", "Ordered.fifo", "Jobs"]
    _, problems = check_config(config_path, parameter_overrides={"Env": "BAD"})
    assert any("AllowedPattern" in p for p in problems)
