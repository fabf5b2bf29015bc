"""Runtimes beyond Python through boto3 against the daemon: a custom runtime (``provided.al2023``
with an executable ``bootstrap``) and Node.js, both over the Lambda Runtime API."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator

import boto3
import pytest

from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread
from tests.drivers.lambda_.test_environments import BOOTSTRAP, NODE_FILES, package

ROLE = "arn:aws:iam::000000000000:role/rt"


@pytest.fixture(scope="module")
def lam(workers: int) -> Iterator[object]:
    handle: ServerHandle = serve_in_thread(clock="virtual", services=["lambda", "logs"], workers=workers)
    try:
        yield boto3.client("lambda", endpoint_url=handle.url, region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
    finally:
        handle.stop()


def test_a_custom_runtime_function_is_invoked_through_the_runtime_api(lam):
    lam.create_function(FunctionName="custom", Runtime="provided.al2023", Role=ROLE, Handler="any.thing",
                        Code={"ZipFile": package({"bootstrap": BOOTSTRAP}, executable=("bootstrap",))})
    out = lam.invoke(FunctionName="custom", Payload=b'{"k": "v"}', LogType="Tail")
    body = json.loads(out["Payload"].read())
    assert body["echo"] == {"k": "v"} and body["rid"] == out["ResponseMetadata"]["RequestId"]
    assert "got {'k': 'v'}" in base64.b64decode(out["LogResult"]).decode()
    failed = lam.invoke(FunctionName="custom", Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) == {"errorType": "MyError", "errorMessage": "asked to"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_nodejs_function_runs_from_its_zip(lam):
    lam.create_function(FunctionName="node", Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": package(NODE_FILES)})
    out = lam.invoke(FunctionName="node", Payload=b'{"n": 4}')
    assert json.loads(out["Payload"].read())["doubled"] == 8
