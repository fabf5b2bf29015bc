"""Lambda layers over the wire (boto3 against the daemon, virtual clock, one and two workers):
publishing, reading and deleting versions, their policies, and functions whose code imports
what their layers bring.
https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle
from eventmesh.services.lambda_.layers import MAX_LAYERS_PER_FUNCTION
from eventmesh.workers import serve_in_thread
from tests.zips import files_zip

ROLE = "arn:aws:iam::000000000000:role/layers"
APP = "import shared\n\ndef handler(event, context):\n    return {'who': shared.WHO, 'extra': shared.extra()}\n"




@pytest.fixture(scope="module")
def lam(workers: int) -> Iterator[Any]:
    handle: ServerHandle = serve_in_thread(clock="virtual", services=["lambda"], workers=workers)
    try:
        yield boto3.client("lambda", endpoint_url=handle.url, region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    finally:
        handle.stop()


def error(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def invoke(lam: Any, name: str) -> tuple[str | None, Any]:
    out = lam.invoke(FunctionName=name)
    return out.get("FunctionError"), json.loads(out["Payload"].read())


def test_versions_number_up_list_newest_first_and_are_never_reused(lam: Any) -> None:
    first = lam.publish_layer_version(LayerName="numbers", Content={"ZipFile": files_zip({"python/a.py": ""})},
                                      CompatibleRuntimes=["python3.12"], Description="one", LicenseInfo="MIT")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["Version"] == 1 and first["LayerVersionArn"] == f"{first['LayerArn']}:1"
    assert first["LayerArn"] == "arn:aws:lambda:us-east-1:000000000000:layer:numbers"
    assert first["Content"]["CodeSize"] == len(files_zip({"python/a.py": ""}))
    second = lam.publish_layer_version(LayerName="numbers", Content={"ZipFile": files_zip({"python/b.py": ""})},
                                       CompatibleArchitectures=["arm64"])
    assert second["Version"] == 2 and second["Content"]["CodeSha256"] != first["Content"]["CodeSha256"]
    listed = lam.list_layer_versions(LayerName="numbers")["LayerVersions"]
    assert [v["Version"] for v in listed] == [2, 1]
    assert listed[1]["Description"] == "one" and listed[1]["LicenseInfo"] == "MIT"
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="numbers",
                                                          CompatibleRuntime="python3.12")["LayerVersions"]] == [1]
    by_arn = lam.get_layer_version_by_arn(Arn=first["LayerVersionArn"])
    assert by_arn["Version"] == 1 and by_arn["CompatibleRuntimes"] == ["python3.12"]
    lam.delete_layer_version(LayerName="numbers", VersionNumber=2)
    lam.delete_layer_version(LayerName="numbers", VersionNumber=2)   # gone already: not an error
    code, _, status = error(lam.get_layer_version, LayerName="numbers", VersionNumber=2)
    assert (code, status) == ("ResourceNotFoundException", 404)
    third = lam.publish_layer_version(LayerName="numbers", Content={"ZipFile": files_zip({"python/c.py": ""})})
    assert third["Version"] == 3


def test_list_layers_answers_each_layers_newest_matching_version(lam: Any) -> None:
    for name, runtime in (("listed-a", "python3.12"), ("listed-a", "nodejs20.x"), ("listed-b", "python3.11")):
        lam.publish_layer_version(LayerName=name, Content={"ZipFile": files_zip({"x": ""})},
                                  CompatibleRuntimes=[runtime])
    layers = {layer["LayerName"]: layer["LatestMatchingVersion"]["Version"] for layer in lam.list_layers()["Layers"]}
    assert layers["listed-a"] == 2 and layers["listed-b"] == 1
    python = {layer["LayerName"]: layer["LatestMatchingVersion"]["Version"]
              for layer in lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
    assert python.get("listed-a") == 1 and "listed-b" not in python


def test_a_function_imports_from_its_layers_and_a_later_layer_wins(lam: Any) -> None:
    base = lam.publish_layer_version(LayerName="base", Content={"ZipFile": files_zip({
        "python/shared.py": "from helpers import extra\nWHO = 'base'\n",
        "python/lib/python3.12/site-packages/helpers.py": "def extra():\n    return 'site-packages'\n"})})
    override = lam.publish_layer_version(LayerName="override", Content={"ZipFile": files_zip({
        "python/shared.py": "from helpers import extra\nWHO = 'override'\n"})})
    created = lam.create_function(FunctionName="layered", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": files_zip({"app.py": APP})},
                                  Layers=[base["LayerVersionArn"], override["LayerVersionArn"]])
    assert created["Layers"] == [{"Arn": base["LayerVersionArn"], "CodeSize": base["Content"]["CodeSize"]},
                                 {"Arn": override["LayerVersionArn"], "CodeSize": override["Content"]["CodeSize"]}]
    assert invoke(lam, "layered") == (None, {"who": "override", "extra": "site-packages"})
    lam.update_function_configuration(FunctionName="layered", Layers=[base["LayerVersionArn"]])
    assert invoke(lam, "layered") == (None, {"who": "base", "extra": "site-packages"})
    lam.update_function_configuration(FunctionName="layered", Layers=[])
    assert "Layers" not in lam.get_function_configuration(FunctionName="layered")
    failed, payload = invoke(lam, "layered")
    assert failed == "Unhandled" and payload["errorType"] == "Runtime.ImportModuleError"
    assert "shared" in payload["errorMessage"]


def test_layers_a_function_cannot_have_are_refused(lam: Any) -> None:
    one = lam.publish_layer_version(LayerName="refused", Content={"ZipFile": files_zip({"x": ""})})["LayerVersionArn"]
    two = lam.publish_layer_version(LayerName="refused", Content={"ZipFile": files_zip({"y": ""})})["LayerVersionArn"]
    base = dict(FunctionName="refusing", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                Code={"ZipFile": files_zip({"app.py": APP})})
    code, message, status = error(lam.create_function, **base,
                                  Layers=["arn:aws:lambda:us-east-1:000000000000:layer:absent:1"])
    assert (code, status) == ("InvalidParameterValueException", 400) and "does not exist" in message
    code, message, _ = error(lam.create_function, **base, Layers=[one, two])
    assert code == "InvalidParameterValueException" and "same layer" in message
    others = [lam.publish_layer_version(LayerName=f"many-{i}", Content={"ZipFile": files_zip({"z": ""})})
              ["LayerVersionArn"] for i in range(MAX_LAYERS_PER_FUNCTION + 1)]
    code, message, _ = error(lam.create_function, **base, Layers=others)
    assert code in ("InvalidParameterValueException", "ValidationException") and str(MAX_LAYERS_PER_FUNCTION) in message
    assert error(lam.get_function, FunctionName="refusing")[0] == "ResourceNotFoundException"
    # Another account's layer that is not held here (a public layer) is kept, not run.
    public = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:46"
    created = lam.create_function(**base, Layers=[public])
    assert created["Layers"] == [{"Arn": public, "CodeSize": 0}]


def test_a_layer_version_policy_is_kept_answered_and_removed(lam: Any) -> None:
    lam.publish_layer_version(LayerName="shared", Content={"ZipFile": files_zip({"x": ""})})
    code, message, status = error(lam.get_layer_version_policy, LayerName="shared", VersionNumber=1)
    assert (code, status) == ("ResourceNotFoundException", 404)
    added = lam.add_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="org",
                                             Action="lambda:GetLayerVersion", Principal="*",
                                             OrganizationId="o-1234567890")
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == "*" and statement["Action"] == "lambda:GetLayerVersion"
    assert statement["Resource"] == "arn:aws:lambda:us-east-1:000000000000:layer:shared:1"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-1234567890"}}
    policy = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["org"]
    assert policy["RevisionId"] == added["RevisionId"]
    code, _, status = error(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1,
                            StatementId="late", Action="lambda:GetLayerVersion", Principal="*", RevisionId="stale")
    assert (code, status) == ("PreconditionFailedException", 412)
    assert error(lam.add_layer_version_permission, LayerName="shared", VersionNumber=1, StatementId="org",
                 Action="lambda:GetLayerVersion", Principal="*")[0] == "ResourceConflictException"
    lam.remove_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="org")
    assert error(lam.remove_layer_version_permission, LayerName="shared", VersionNumber=1,
                 StatementId="org")[0] == "ResourceNotFoundException"


def test_a_package_that_is_no_zip_is_refused_at_publish(lam: Any) -> None:
    code, message, _ = error(lam.publish_layer_version, LayerName="broken", Content={"ZipFile": b"not a zip"})
    assert code == "InvalidParameterValueException" and "unzip" in message
    assert lam.list_layer_versions(LayerName="broken")["LayerVersions"] == []
