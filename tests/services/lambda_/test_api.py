"""The Lambda adapter in process: model-shaped requests in, model-shaped results out."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import msgspec
import pytest

from eventmesh.drivers.lambda_.runner import install_virtual_runner
from eventmesh.services import adapters
from eventmesh.services.lambda_.api import service
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    ResourceConflictException,
    ResourceNotFoundException,
    TooManyRequestsException,
)
from eventmesh.testing import virtual_mesh
from eventmesh.wire.router import Api
from eventmesh.wire.service import Deferred
from tests.zips import handler_zip

ROLE = "arn:aws:iam::000000000000:role/r"
ARN = "arn:aws:lambda:us-east-1:000000000000:function"




@pytest.fixture
def api():
    mesh, driver = virtual_mesh()
    api = Api(mesh, adapters(["lambda"]))
    api.driver = driver
    install_virtual_runner(mesh)
    return api


def _create(api: Api, name: str = "f", **extra: Any) -> dict[str, Any]:
    params = {"FunctionName": name, "Role": ROLE, "Handler": "model:duration=0.1", "Code": {}, **extra}
    return msgspec.to_builtins(api.call("lambda", "CreateFunction", params))


def _invoke(api: Api, **params: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        ctx = api.context("lambda", operation="Invoke")
        answer = service.handlers["Invoke"](ctx, params)   # starts the invocation now
        if not isinstance(answer, Deferred):
            return answer  # type: ignore[no-any-return]
        api.driver.run_until_idle()
        return answer.finish(await answer.awaitable)  # type: ignore[no-any-return]
    return asyncio.run(run())


def test_create_function_returns_its_configuration(api):
    config = _create(api, Timeout=30, MemorySize=256, Environment={"Variables": {"A": "1"}})
    assert config["FunctionName"] == "f" and config["FunctionArn"] == f"{ARN}:f"
    assert (config["Timeout"], config["MemorySize"], config["Version"]) == (30, 256, "$LATEST")
    assert config["Environment"] == {"Variables": {"A": "1"}}
    assert config["State"] == "Active" and config["LastUpdateStatus"] == "Successful"
    with pytest.raises(ResourceConflictException):
        _create(api)


def test_get_list_and_delete_functions(api):
    _create(api, "b")
    _create(api, "a")
    listed = msgspec.to_builtins(api.call("lambda", "ListFunctions", {}))
    names = [f["FunctionName"] for f in listed["Functions"]]
    assert names == ["a", "b"]
    got = msgspec.to_builtins(api.call("lambda", "GetFunction", {"FunctionName": f"{ARN}:a"}))
    assert got["Configuration"]["FunctionName"] == "a" and got["Code"]["RepositoryType"] == "S3"
    api.call("lambda", "DeleteFunction", {"FunctionName": "a"})
    with pytest.raises(ResourceNotFoundException) as err:
        api.call("lambda", "GetFunction", {"FunctionName": "a"})
    assert err.value.message == f"Function not found: {ARN}:a"


def test_invoke_python_zip_sync_with_log_tail(api):
    code = handler_zip("def handler(event, context):\n"
                "    print('got', event['x'])\n"
                "    return {'y': event['x'] * 2}\n")
    _create(api, "py", Runtime="python3.12", Handler="app.handler", Code={"ZipFile": code})
    out = _invoke(api, FunctionName="py", Payload=b'{"x": 21}', LogType="Tail")
    assert out["StatusCode"] == 200 and json.loads(out["Payload"]) == {"y": 42}
    assert out["ExecutedVersion"] == "$LATEST" and "FunctionError" not in out
    assert "got 21" in base64.b64decode(out["LogResult"]).decode()


def test_invoke_function_error_is_200_with_function_error(api):
    code = handler_zip("def handler(event, context):\n    raise RuntimeError('nope')\n")
    _create(api, "bad", Runtime="python3.12", Handler="app.handler", Code={"ZipFile": code})
    out = _invoke(api, FunctionName="bad", Payload=b"{}")
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    error = json.loads(out["Payload"])
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "nope")
    assert error["stackTrace"][0].startswith('  File "/var/task/app.py", line 2, in handler')


def test_invoke_event_and_dry_run(api):
    _create(api)
    assert _invoke(api, FunctionName="f", InvocationType="Event", Payload=b"{}") == {"StatusCode": 202}
    assert _invoke(api, FunctionName="f", InvocationType="DryRun") == {"StatusCode": 204}


def test_invoke_rejects_a_body_that_is_not_json(api):
    _create(api)
    with pytest.raises(InvalidRequestContentException):
        _invoke(api, FunctionName="f", Payload=b"{not json")


def test_reserved_concurrency_zero_throttles_invoke(api):
    _create(api)
    zero = {"ReservedConcurrentExecutions": 0}
    assert api.call("lambda", "PutFunctionConcurrency", {"FunctionName": "f", **zero}) == zero
    assert api.call("lambda", "GetFunctionConcurrency", {"FunctionName": "f"}) == zero
    with pytest.raises(TooManyRequestsException) as err:
        _invoke(api, FunctionName="f", Payload=b"{}")
    assert err.value.extra == {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    api.call("lambda", "DeleteFunctionConcurrency", {"FunctionName": "f"})
    assert api.call("lambda", "GetFunctionConcurrency", {"FunctionName": "f"}) == {}


def test_versions_and_weighted_alias(api):
    _create(api)
    v1 = msgspec.to_builtins(api.call("lambda", "PublishVersion", {"FunctionName": "f"}))
    assert v1["Version"] == "1" and v1["FunctionArn"] == f"{ARN}:f:1"
    api.call("lambda", "UpdateFunctionConfiguration", {"FunctionName": "f", "Timeout": 10})
    v2 = msgspec.to_builtins(api.call("lambda", "PublishVersion", {"FunctionName": "f"}))
    assert v2["Version"] == "2" and v2["Timeout"] == 10
    alias = api.call("lambda", "CreateAlias", {"FunctionName": "f", "Name": "live", "FunctionVersion": "1",
                                               "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}}})
    assert alias["AliasArn"] == f"{ARN}:f:live"
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    executed = [_invoke(api, FunctionName="f", Qualifier="live", Payload=b"{}")["ExecutedVersion"]
                for _ in range(200)]
    assert 30 <= executed.count("2") <= 70 and executed.count("1") + executed.count("2") == 200
    updated = api.call("lambda", "UpdateAlias", {"FunctionName": "f", "Name": "live", "FunctionVersion": "2"})
    assert "RoutingConfig" not in updated and updated["FunctionVersion"] == "2"
    assert api.call("lambda", "GetAlias", {"FunctionName": "f", "Name": "live"})["FunctionVersion"] == "2"
    with pytest.raises(InvalidParameterValueException):
        api.call("lambda", "CreateAlias", {"FunctionName": "f", "Name": "x", "FunctionVersion": "1",
                                           "RoutingConfig": {"AdditionalVersionWeights": {"2": 2.0}}})


def test_event_invoke_config_put_update_get_list_delete(api):
    _create(api)
    dest = "arn:aws:sqs:us-east-1:000000000000:q"
    put = api.call("lambda", "PutFunctionEventInvokeConfig",
                   {"FunctionName": "f", "MaximumRetryAttempts": 1,
                    "DestinationConfig": {"OnFailure": {"Destination": dest}}})
    assert put["FunctionArn"] == f"{ARN}:f:$LATEST"
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (1, 21600)
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": dest}}
    updated = api.call("lambda", "UpdateFunctionEventInvokeConfig",
                       {"FunctionName": "f", "MaximumEventAgeInSeconds": 60})
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 60)
    replaced = api.call("lambda", "PutFunctionEventInvokeConfig", {"FunctionName": "f"})
    assert replaced["MaximumRetryAttempts"] == 2
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    listed = api.call("lambda", "ListFunctionEventInvokeConfigs", {"FunctionName": "f"})
    assert len(listed["FunctionEventInvokeConfigs"]) == 1
    api.call("lambda", "DeleteFunctionEventInvokeConfig", {"FunctionName": "f"})
    with pytest.raises(ResourceNotFoundException) as err:
        api.call("lambda", "GetFunctionEventInvokeConfig", {"FunctionName": "f"})
    assert err.value.message == f"The function {ARN}:f:$LATEST doesn't have an EventInvokeConfig"
    with pytest.raises(InvalidParameterValueException):
        api.call("lambda", "PutFunctionEventInvokeConfig",
                 {"FunctionName": "f", "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::b"}}})
