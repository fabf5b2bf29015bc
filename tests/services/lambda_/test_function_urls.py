"""Function URLs (boto3 and plain HTTP against the daemon, virtual clock, one and two workers): the
configuration operations, and requests to the URL becoming invocations in the URL payload format
and their answers becoming HTTP responses.
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html"""

from __future__ import annotations

import base64
import http.client
import io
import json
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from eventmesh.daemon import ServerHandle
from eventmesh.services.lambda_.urls import locate
from eventmesh.workers import serve_in_thread

ROLE = "arn:aws:iam::000000000000:role/urls"
APP = """
import base64, json

def handler(event, context):
    path = event["rawPath"]
    if path == "/plain":
        return {"hello": "world"}
    if path == "/fail":
        raise ValueError("boom")
    if path == "/inject":
        return {"statusCode": 200, "headers": {"x-a": "ok\\r\\nSet-Cookie: evil=1"}, "body": "x"}
    if path == "/no-status":
        return {"statusCode": 99999, "body": "x"}
    if path == "/not-base64":
        return {"statusCode": 200, "body": "!!!", "isBase64Encoded": True}
    if path == "/huge":
        return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}
    if path == "/bytes":
        return {"statusCode": 201, "headers": {"content-type": "application/octet-stream", "x-kind": "raw"},
                "cookies": ["a=1", "b=2; Path=/"], "body": base64.b64encode(b"\\x00\\xff").decode(),
                "isBase64Encoded": True}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["lambda"], workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def lam(daemon: ServerHandle) -> Any:
    client = boto3.client("lambda", endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", APP)
    client.create_function(FunctionName="web", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                           Code={"ZipFile": buffer.getvalue()}, Publish=True)
    client.create_alias(FunctionName="web", Name="live", FunctionVersion="1")
    return client


def fetch(daemon: ServerHandle, url: str, method: str = "GET", body: bytes = b"",
          headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A request to ``url`` sent to the daemon's own address with the URL's Host (what a client that
    resolves ``*.localhost`` to loopback sends)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(urlsplit(daemon.url).netloc, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers={"Host": parts.netloc, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_a_url_is_configured_answered_listed_and_deleted(lam: Any) -> None:
    created = lam.create_function_url_config(FunctionName="web", Qualifier="live", AuthType="NONE",
                                             Cors={"AllowOrigins": ["http://app.example"]})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:web:live"
    parts = urlsplit(created["FunctionUrl"])
    url_id, account, region, path = locate(parts.netloc, parts.path)  # type: ignore[misc]
    assert (len(url_id), account, region, path) == (32, "000000000000", "us-east-1", "/")
    assert parts.path == f"/lambda-url/us-east-1/{url_id}/"   # the path style: every client reaches it
    assert created["InvokeMode"] == "BUFFERED" and "LastModifiedTime" not in created
    code = lam.exceptions.ResourceConflictException
    with pytest.raises(code):
        lam.create_function_url_config(FunctionName="web", Qualifier="live", AuthType="NONE")
    updated = lam.update_function_url_config(FunctionName="web", Qualifier="live", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["Cors"] == {"AllowOrigins": ["http://app.example"]}
    assert updated["FunctionUrl"] == created["FunctionUrl"]
    listed = lam.list_function_url_configs(FunctionName="web")["FunctionUrlConfigs"]
    assert [c["FunctionArn"] for c in listed] == [created["FunctionArn"]]
    lam.delete_function_url_config(FunctionName="web", Qualifier="live")
    with pytest.raises(ClientError) as caught:
        lam.get_function_url_config(FunctionName="web", Qualifier="live")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        lam.create_function_url_config(FunctionName="web", Qualifier="absent", AuthType="NONE")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_request_becomes_the_payload_format_event(daemon: ServerHandle, lam: Any) -> None:
    url = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    status, headers, body = fetch(daemon, url + "echo/it?a=1&a=2&b=x", "POST", b"hello",
                                  {"Content-Type": "text/plain", "Cookie": "c1=v1; c2=v2"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert (event["rawPath"], event["rawQueryString"]) == ("/echo/it", "a=1&a=2&b=x")
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["cookies"] == ["c1=v1", "c2=v2"] and "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "text/plain"
    assert (event["body"], event["isBase64Encoded"]) == ("hello", False)
    context = event["requestContext"]
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/echo/it"
    assert context["accountId"] == "anonymous" and context["apiId"] == context["domainPrefix"]
    status, _, body = fetch(daemon, url, "PUT", b"\x00\x01", {"Content-Type": "application/octet-stream"})
    event = json.loads(body)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\x01"
    # The host style reaches the same function with the same path.
    url_id = urlsplit(url).path.split("/")[3]
    port = urlsplit(daemon.url).port
    status, _, body = fetch(daemon, f"http://{url_id}.lambda-url.us-east-1.localhost:{port}/echo/it?a=1")
    event = json.loads(body)
    assert status == 200 and (event["rawPath"], event["rawQueryString"]) == ("/echo/it", "a=1")
    assert event["requestContext"]["domainName"] == f"{url_id}.lambda-url.us-east-1.on.aws"


def url_metrics(daemon: ServerHandle) -> dict[str, float]:
    """The function's Url* counters, from /metrics (served whole by any worker)."""
    with urllib.request.urlopen(daemon.url + "/metrics") as response:
        text = response.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("aws_lambda_url") and sample.labels.get("function_name") == "web":
                out[sample.name] = sample.value
    return out


def test_the_functions_answer_becomes_the_http_response(daemon: ServerHandle, lam: Any) -> None:
    url = lam.get_function_url_config(FunctionName="web")["FunctionUrl"]
    before = url_metrics(daemon)
    status, headers, body = fetch(daemon, url + "plain")
    assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {"hello": "world"})
    status, headers, body = fetch(daemon, url + "bytes")
    assert (status, headers["x-kind"], body) == (201, "raw", b"\x00\xff")
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2; Path=/"]
    status, _, body = fetch(daemon, url + "fail")
    assert (status, json.loads(body)) == (502, {"Message": "Internal Server Error"})
    for bad in ("inject", "no-status", "not-base64", "huge"):   # nothing it returns splits the response
        status, headers, body = fetch(daemon, url + bad)
        assert (status, headers.get_all("Set-Cookie")) == (502, None), bad
    after = url_metrics(daemon)
    gained = {name: after[name] - before.get(name, 0.0) for name in after}
    assert gained == {"aws_lambda_url_request_count_total": 7.0, "aws_lambda_url4xx_count_total": 0.0,
                      "aws_lambda_url5xx_count_total": 5.0}


def test_an_iam_url_wants_a_signed_request_and_an_unknown_url_is_forbidden(daemon: ServerHandle, lam: Any) -> None:
    url = lam.create_function_url_config(FunctionName="web", Qualifier="live", AuthType="AWS_IAM")["FunctionUrl"]
    status, _, body = fetch(daemon, url + "plain")
    assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20261207/us-east-1/lambda/aws4_request, "
                               "SignedHeaders=host, Signature=0"}
    assert fetch(daemon, url + "plain", headers=signed)[0] == 200
    url_id = urlsplit(url).path.split("/")[3]
    unknown = url.replace(url_id, "z" * 20 + "000000000000")
    assert fetch(daemon, unknown)[0] == 403
    mesh = getattr(daemon, "mesh", None)   # one worker: the engine is in this process
    before = len(mesh.scopes()) if mesh is not None else 0
    for account in range(100_000_000_000, 100_000_000_020):   # accounts no one uses: no state made
        assert fetch(daemon, url.replace(url_id, url_id[:20] + str(account)))[0] == 403
    assert mesh is None or len(mesh.scopes()) == before
    lam.delete_function_url_config(FunctionName="web", Qualifier="live")
    assert fetch(daemon, url + "plain", headers=signed)[0] == 403


def test_cors_preflights_and_responses_follow_the_urls_settings(daemon: ServerHandle, lam: Any) -> None:
    lam.update_function_url_config(FunctionName="web", Cors={
        "AllowOrigins": ["http://app.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 60,
        "ExposeHeaders": ["x-kind"]})
    url = lam.get_function_url_config(FunctionName="web")["FunctionUrl"]
    status, headers, _ = fetch(daemon, url, "OPTIONS", headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert headers["Access-Control-Allow-Methods"] == "GET, POST" and headers["Access-Control-Max-Age"] == "60"
    status, headers, _ = fetch(daemon, url + "bytes", headers={"Origin": "http://app.example"})
    assert status == 201 and headers["Access-Control-Expose-Headers"] == "x-kind"
    status, headers, _ = fetch(daemon, url + "bytes", headers={"Origin": "http://evil.example"})
    assert status == 201 and "Access-Control-Allow-Origin" not in headers   # served; the browser withholds it


def test_the_function_urls_setting_names_the_host_style_instead(tmp_path: Any) -> None:
    from eventmesh.config import check_config
    from eventmesh.services import adapters
    from eventmesh.testing import virtual_mesh
    from eventmesh.wire.router import Api

    mesh, _ = virtual_mesh()
    api = Api(mesh, adapters(["lambda"]), settings={"function_urls": "host"})
    api.call("lambda", "CreateFunction", {"FunctionName": "f", "Role": ROLE, "Handler": "model:", "Code": {}})
    url = api.call("lambda", "CreateFunctionUrlConfig", {"FunctionName": "f", "AuthType": "NONE"},
                   host="localhost:4566")["FunctionUrl"]
    assert url.startswith("http://") and url.endswith(".lambda-url.us-east-1.localhost:4566/")
    assert locate(urlsplit(url).netloc, "/a") is not None
    path = tmp_path / "bad.yaml"
    path.write_text("function_urls: dns\n")
    assert "function_urls: must be one of path, host" in check_config(path)[1]
