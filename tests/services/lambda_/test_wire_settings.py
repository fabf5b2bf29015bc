"""Function settings people write in Terraform and SAM, answered as AWS answers them and acted on
where the daemon can: Architectures, TracingConfig, LoggingConfig (format, levels, log group) and
the qualified ARN of ``$LATEST`` in ListVersionsByFunction (boto3 against the daemon).
https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
https://docs.aws.amazon.com/cli/latest/reference/lambda/list-versions-by-function.html"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle, serve_in_thread
from tests.clients import aws_client as client
from tests.zips import handler_zip

ROLE = "arn:aws:iam::000000000000:role/settings"
HANDLER = """
import logging, os
log = logging.getLogger("orders")

def handler(event, context):
    log.debug("hidden at INFO")
    log.info("placed %s", event["order"], extra={"order": event["order"]})
    print("plain", os.environ.get("AWS_LAMBDA_LOG_FORMAT"), os.environ["AWS_LAMBDA_LOG_GROUP_NAME"])
    return "ok"
"""




@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["lambda", "logs"])
    try:
        yield handle
    finally:
        handle.stop()




def test_a_function_answers_the_settings_it_was_created_with(daemon):
    lam = client(daemon, "lambda")
    created = lam.create_function(FunctionName="plain", Role=ROLE, Handler="model:duration=0", Code={})
    assert created["Architectures"] == ["x86_64"] and created["TracingConfig"] == {"Mode": "PassThrough"}
    assert created["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}
    configured = lam.create_function(
        FunctionName="tuned", Role=ROLE, Handler="model:duration=0", Code={}, Architectures=["arm64"],
        TracingConfig={"Mode": "Active"}, LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})
    assert configured["Architectures"] == ["arm64"] and configured["TracingConfig"] == {"Mode": "Active"}
    # JSON format: the levels not given are INFO, as AWS answers them.
    assert configured["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": "/aws/lambda/tuned",
                                           "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
    got = lam.get_function(FunctionName="tuned")["Configuration"]
    assert (got["Architectures"], got["TracingConfig"], got["LoggingConfig"]) == (
        configured["Architectures"], configured["TracingConfig"], configured["LoggingConfig"])


def test_updates_change_only_what_they_name(daemon):
    lam = client(daemon, "lambda")
    lam.create_function(FunctionName="moving", Role=ROLE, Handler="model:duration=0", Code={},
                        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"})
    updated = lam.update_function_configuration(FunctionName="moving", LoggingConfig={"LogGroup": "/shared/logs"},
                                                TracingConfig={"Mode": "Active"})
    assert updated["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": "/shared/logs",
                                        "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO"}
    assert updated["TracingConfig"] == {"Mode": "Active"}
    back = lam.update_function_configuration(FunctionName="moving", LoggingConfig={"LogFormat": "Text"})
    assert back["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/shared/logs"}  # Text has no levels
    rebuilt = lam.update_function_code(FunctionName="moving", ZipFile=b"", Architectures=["arm64"])
    assert rebuilt["Architectures"] == ["arm64"]
    assert lam.get_function(FunctionName="moving")["Configuration"]["TracingConfig"] == {"Mode": "Active"}


def test_settings_outside_the_model_are_refused(daemon):
    lam = client(daemon, "lambda")
    with pytest.raises(ClientError) as caught:
        lam.create_function(FunctionName="bad", Role=ROLE, Handler="model:duration=0", Code={},
                            LoggingConfig={"LogFormat": "XML"})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        lam.create_function(FunctionName="bad", Role=ROLE, Handler="model:duration=0", Code={},
                            Architectures=["x86_64", "arm64"])
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_list_versions_names_latest_by_its_qualified_arn(daemon):
    lam = client(daemon, "lambda")
    lam.create_function(FunctionName="versioned", Role=ROLE, Handler="model:duration=0", Code={}, Publish=True)
    versions = lam.list_versions_by_function(FunctionName="versioned")["Versions"]
    arn = "arn:aws:lambda:us-east-1:000000000000:function:versioned"
    assert [(v["Version"], v["FunctionArn"]) for v in versions] == [("$LATEST", f"{arn}:$LATEST"), ("1", f"{arn}:1")]
    assert lam.get_function(FunctionName="versioned")["Configuration"]["FunctionArn"] == arn


def test_a_json_function_logs_json_records_at_its_level_to_its_log_group(daemon):
    lam = client(daemon, "lambda")
    lam.create_function(FunctionName="structured", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": handler_zip(HANDLER)},
                        LoggingConfig={"LogFormat": "JSON", "LogGroup": "/custom/structured"})
    out = lam.invoke(FunctionName="structured", Payload=json.dumps({"order": 42}))
    assert json.loads(out["Payload"].read()) == "ok"
    request_id = out["ResponseMetadata"]["RequestId"]
    logs = client(daemon, "logs")
    messages = [e["message"] for e in logs.filter_log_events(logGroupName="/custom/structured")["events"]]
    records = [json.loads(m) for m in messages if m.startswith("{")]
    assert [(r["level"], r["message"], r["logger"], r["order"]) for r in records] == [
        ("INFO", "placed 42", "orders", 42)]
    assert records[0]["requestId"] == request_id and records[0]["timestamp"].endswith("Z")
    assert "plain JSON /custom/structured\n" in messages
    with pytest.raises(ClientError):   # nothing went to the default group
        logs.filter_log_events(logGroupName="/aws/lambda/structured")


def test_provisioned_concurrency_configs_over_the_wire(daemon):
    lam = client(daemon, "lambda")
    lam.create_function(FunctionName="warm", Runtime="python3.12", Role=ROLE, Handler="model:duration=10ms",
                        Code={"ZipFile": b""}, Publish=True)
    lam.create_alias(FunctionName="warm", Name="live", FunctionVersion="1")
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    put = lam.put_provisioned_concurrency_config(FunctionName="warm", Qualifier="live",
                                                 ProvisionedConcurrentExecutions=5)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert (put["Status"], put["RequestedProvisionedConcurrentExecutions"],
            put["AllocatedProvisionedConcurrentExecutions"]) == ("READY", 5, 5)
    assert lam.get_provisioned_concurrency_config(FunctionName="warm", Qualifier="live")["Status"] == "READY"
    listed = lam.list_provisioned_concurrency_configs(FunctionName="warm")["ProvisionedConcurrencyConfigs"]
    assert [(c["FunctionArn"].rsplit(":", 1)[1], c["RequestedProvisionedConcurrentExecutions"])
            for c in listed] == [("live", 5)]
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == before - 5
    with pytest.raises(ClientError) as caught:
        lam.put_provisioned_concurrency_config(FunctionName="warm", Qualifier="$LATEST",
                                               ProvisionedConcurrentExecutions=1)
    assert caught.value.response["Error"]["Code"] in ("InvalidParameterValueException", "ValidationException")
    with pytest.raises(ClientError) as caught:
        lam.put_provisioned_concurrency_config(FunctionName="warm", Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.delete_provisioned_concurrency_config(FunctionName="warm", Qualifier="live")
    with pytest.raises(ClientError) as caught:
        lam.get_provisioned_concurrency_config(FunctionName="warm", Qualifier="live")
    assert caught.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == before


def test_runtime_management_is_kept_per_qualifier(daemon):
    lam = client(daemon, "lambda")
    lam.create_function(FunctionName="pinned", Runtime="python3.12", Role=ROLE, Handler="model:duration=10ms",
                        Code={"ZipFile": b""})
    assert lam.get_runtime_management_config(FunctionName="pinned")["UpdateRuntimeOn"] == "Auto"
    arn = "arn:aws:lambda:us-east-1::runtime:0ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"
    put = lam.put_runtime_management_config(FunctionName="pinned", UpdateRuntimeOn="Manual", RuntimeVersionArn=arn)
    assert (put["UpdateRuntimeOn"], put["RuntimeVersionArn"]) == ("Manual", arn)
    got = lam.get_runtime_management_config(FunctionName="pinned")
    assert (got["UpdateRuntimeOn"], got["RuntimeVersionArn"]) == ("Manual", arn)
    with pytest.raises(ClientError) as caught:
        lam.put_runtime_management_config(FunctionName="pinned", UpdateRuntimeOn="Manual")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    lam.put_runtime_management_config(FunctionName="pinned", UpdateRuntimeOn="FunctionUpdate")
    assert "RuntimeVersionArn" not in lam.get_runtime_management_config(FunctionName="pinned")


def test_code_signing_configs_are_kept_attached_and_guarded_against_deletion(daemon):
    lam = client(daemon, "lambda")
    profile = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/abcdef0123"
    created = lam.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": [profile]},
                                             Description="ours")["CodeSigningConfig"]
    assert created["CodeSigningConfigId"].startswith("csc-") and len(created["CodeSigningConfigId"]) == 21
    assert created["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    arn = created["CodeSigningConfigArn"]
    assert arn.endswith(f":code-signing-config:{created['CodeSigningConfigId']}")
    lam.create_function(FunctionName="signed", Runtime="python3.12", Role=ROLE, Handler="model:duration=10ms",
                        Code={"ZipFile": b""}, CodeSigningConfigArn=arn)
    assert lam.get_function_code_signing_config(FunctionName="signed")["CodeSigningConfigArn"] == arn
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == [
        "arn:aws:lambda:us-east-1:000000000000:function:signed"]
    updated = lam.update_code_signing_config(CodeSigningConfigArn=arn,
                                             CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"})
    assert updated["CodeSigningConfig"]["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    with pytest.raises(ClientError) as caught:
        lam.delete_code_signing_config(CodeSigningConfigArn=arn)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.delete_function_code_signing_config(FunctionName="signed")
    assert lam.get_function_code_signing_config(FunctionName="signed")["CodeSigningConfigArn"] == ""
    lam.delete_code_signing_config(CodeSigningConfigArn=arn)
    with pytest.raises(ClientError) as caught:
        lam.get_code_signing_config(CodeSigningConfigArn=arn)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        lam.put_function_code_signing_config(FunctionName="signed", CodeSigningConfigArn=arn)
    assert caught.value.response["Error"]["Code"] == "CodeSigningConfigNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
