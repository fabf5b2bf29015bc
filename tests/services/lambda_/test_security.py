"""What the daemon will execute and for whom: handler restrictions over the wire, package limits,
Lambda's error bodies, reserved variables, and the optional access-key check."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventmesh.config import Config
from eventmesh.daemon import ServerHandle, serve_in_thread
from eventmesh.drivers.lambda_.code import PackageError, extract_package
from eventmesh.services.lambda_.errors import InvalidParameterValueException
from eventmesh.services.lambda_.package import MAX_UNZIPPED_BYTES, inspect_package
from tests.clients import aws_client as client

ROLE = "arn:aws:iam::000000000000:role/sec"
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def _zip(files: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _declaring(code: bytes, size: int) -> bytes:
    """The same zip with its (only) entry's declared uncompressed size replaced."""
    data = bytearray(code)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, size)
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, size)
    return bytes(data)


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["lambda", "sqs"])
    try:
        yield handle
    finally:
        handle.stop()




def create(lam: Any, name: str, handler: str, code: dict[str, Any] | None = None, **extra: Any) -> Any:
    return lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler,
                               Code=code or {"S3Bucket": "bucket", "S3Key": "key"}, **extra)


@pytest.mark.parametrize("handler", ["shutil:rmtree", "pty:spawn", "os.system", "http://127.0.0.1:9/x"])
def test_over_the_wire_only_code_in_the_functions_own_zip_runs(daemon, handler):
    with pytest.raises(ClientError) as err:
        create(client(daemon, "lambda"), "outside", handler)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "security.wire_handlers: any" in err.value.response["Error"]["Message"]
    assert daemon.mesh.find("arn:aws:lambda:us-east-1:000000000000:function:outside", object) is None


@pytest.mark.parametrize("handler", ["/tmp/evil.handler", "../../etc/evil.handler", "a/../../b.handler"])
def test_a_zip_handler_naming_a_path_outside_the_package_is_refused(daemon, handler):
    with pytest.raises(ClientError) as err:
        create(client(daemon, "lambda"), "escape", handler, {"ZipFile": _zip({"app.py": "x = 1\n"})})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_changing_a_config_function_to_another_import_path_is_refused_over_the_wire(daemon):
    lam = client(daemon, "lambda")
    daemon.daemon.api.call("lambda", "CreateFunction", {
        "FunctionName": "operator-fn", "Role": ROLE, "Handler": "json:dumps", "Code": {}})
    with pytest.raises(ClientError) as err:
        lam.update_function_configuration(FunctionName="operator-fn", Handler="shutil:rmtree")
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    changed = lam.update_function_configuration(FunctionName="operator-fn", Description="still the operator's")
    assert changed["Handler"] == "json:dumps"


def test_a_zip_handler_never_reaches_a_module_of_the_runtime(daemon):
    """A package holding its own ``shutil.py`` gets that file, not the runtime's shutil."""
    lam = client(daemon, "lambda")
    create(lam, "shadow", "shutil.rmtree", {"ZipFile": _zip({"shutil.py": "VALUE = 1\n"})})
    out = lam.invoke(FunctionName="shadow", Payload=b'"/tmp"')
    assert out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"


def test_a_bad_zip_over_the_wire_is_lambdas_unzip_error(daemon):
    lam = client(daemon, "lambda")
    create(lam, "zipped", "app.handler", {"ZipFile": _zip({"app.py": "def handler(e, c):\n    return 1\n"})})
    with pytest.raises(ClientError) as bad_zip:
        lam.update_function_code(FunctionName="zipped", ZipFile=b"abcde")
    assert bad_zip.value.response["Error"]["Message"] == UNZIP_FAILED


def test_the_operator_may_allow_outside_code_over_the_wire_and_always_in_the_config():
    handle = serve_in_thread(Config(wire_handlers="any"), clock="virtual", services=["lambda"])
    try:
        created = create(client(handle, "lambda"), "allowed", "json:dumps")
        assert created["Handler"] == "json:dumps"
        # the operator's own calls (the config file) are trusted whatever the setting
        handle.daemon.api.call("lambda", "CreateFunction", {
            "FunctionName": "from-config", "Role": ROLE, "Handler": "json:dumps", "Code": {}})
    finally:
        handle.stop()


def test_package_limits_are_checked_before_extracting():
    small = _zip({"app.py": "x = 1\n"})
    assert inspect_package(small) == len("x = 1\n")
    with pytest.raises(InvalidParameterValueException) as declared:
        inspect_package(_declaring(small, MAX_UNZIPPED_BYTES + 1))
    assert declared.value.message == f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
    bomb = _zip({"zeros.bin": bytes(8 << 20)})   # deflate at its ~1,000:1 limit
    with pytest.raises(InvalidParameterValueException) as ratio:
        inspect_package(bomb)
    assert ratio.value.message == UNZIP_FAILED
    with pytest.raises(InvalidParameterValueException):
        inspect_package(_zip({"../outside.py": "x"}))
    with pytest.raises(InvalidParameterValueException):
        inspect_package(b"not a zip")


def test_extraction_stops_at_the_cap_even_when_declared_sizes_lie(tmp_path):
    code = _zip({"a.bin": bytes(5000), "b.bin": bytes(5000)})
    with pytest.raises(PackageError, match="Unzipped size must be smaller than 6000 bytes"):
        extract_package(code, str(tmp_path / "capped"), limit_bytes=6000)
    lying = _declaring(_zip({"one.bin": bytes(5000)}), 10)
    with pytest.raises(PackageError):
        extract_package(lying, str(tmp_path / "lying"))


def test_the_50_mb_direct_upload_limit(daemon):
    from eventmesh.services.lambda_.errors import RequestTooLargeException

    with pytest.raises(RequestTooLargeException):
        inspect_package(b"x" * (50 * 1024 * 1024 + 1))


def test_lambda_errors_spell_their_message_as_the_model_does(daemon):
    lam = client(daemon, "lambda")
    with pytest.raises(ClientError) as missing:
        lam.get_function(FunctionName="nobody")
    assert missing.value.response["Message"].startswith("Function not found: ")
    assert missing.value.response["Type"] == "User"
    with pytest.raises(ClientError) as invalid:
        create(lam, "bad-memory", "model:duration=1", MemorySize=20_000)
    assert invalid.value.response["message"] == invalid.value.response["Error"]["Message"]
    assert invalid.value.response["Type"] == "User"
    create(lam, "conflict", "model:duration=1")
    with pytest.raises(ClientError) as conflict:
        create(lam, "conflict", "model:duration=1")
    assert conflict.value.response["message"] == "Function already exist: conflict"


def test_reserved_variables_are_refused(daemon):
    with pytest.raises(ClientError) as err:
        create(client(daemon, "lambda"), "reserved", "model:duration=1",
               Environment={"Variables": {"AWS_REGION": "x", "OK": "1"}})
    assert err.value.response["Error"]["Message"].endswith("Reserved keys used in this request: AWS_REGION")


SENDER = """
import os, boto3
def handler(event, context):
    sqs = boto3.client("sqs")   # credentials and endpoint from the function's environment
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody="from the function")
    return boto3.client("sqs").list_queues().get("QueueUrls", [])
"""


def test_access_keys_guard_every_request_and_functions_get_their_own_key():
    config = Config(access_keys={"s3cret-key": "111122223333", "plain-key": None})
    handle = serve_in_thread(config, clock="virtual", services=["lambda", "sqs", "sns"])
    try:
        with pytest.raises(ClientError) as refused:
            client(handle, "lambda", "wrong").list_functions()
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        with pytest.raises(ClientError) as refused_sqs:
            client(handle, "sqs", "wrong").list_queues()
        # SQS's JSON protocol answers client faults with 400 and the Query code in a header
        assert refused_sqs.value.response["Error"]["Code"] == "InvalidClientTokenId"
        sqs = client(handle, "sqs", "s3cret-key")
        url = sqs.create_queue(QueueName="guarded")["QueueUrl"]
        assert "/111122223333/" in url   # the key's account
        assert "/000000000000/" in client(handle, "sqs", "plain-key").create_queue(QueueName="d")["QueueUrl"]
        lam = client(handle, "lambda", "s3cret-key")
        lam.create_function(FunctionName="sender", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": _zip({"app.py": SENDER})}, Timeout=30,
                            Environment={"Variables": {"QUEUE_URL": url}})
        out = lam.invoke(FunctionName="sender")
        assert "FunctionError" not in out, out["Payload"].read()
        assert json.loads(out["Payload"].read()) == [url]   # it acted in its own account
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["from the function"]
        import urllib.error
        import urllib.request
        with pytest.raises(urllib.error.HTTPError) as metrics:
            urllib.request.urlopen(f"{handle.url}/metrics")
        assert metrics.value.code == 403
        request = urllib.request.Request(f"{handle.url}/metrics", headers={"Authorization": "Bearer plain-key"})
        assert urllib.request.urlopen(request).status == 200
        assert urllib.request.urlopen(f"{handle.url}/_eventmesh/health").status == 200
        # what AWS serves unsigned stays reachable: an endpoint following a SubscribeURL
        confirm = (f"{handle.url}/?Action=ConfirmSubscription&Version=2010-03-31&Token=bad"
                   "&TopicArn=arn:aws:sns:us-east-1:000000000000:none")
        with pytest.raises(urllib.error.HTTPError) as unsigned:
            urllib.request.urlopen(confirm)
        assert unsigned.value.code != 403
    finally:
        handle.stop()
