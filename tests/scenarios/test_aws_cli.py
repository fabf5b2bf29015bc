"""The AWS CLI (v1, of the test extra) deploys and runs a small topology against the daemon:
STS identity, an IAM role, a function from a zip, a queue mapped to it, and its logs.

CLI v1 has no ``aws logs tail`` (a v2 command); what v2's tail calls is FilterLogEvents over
the group from a start time, paged by ``nextToken`` (``--follow`` repeats it), which this test
runs through v1's ``filter-log-events``."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread

AWS = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")
HANDLER = """
import json
def handler(event, context):
    for record in event.get("Records", []):
        print("processing", record["body"])
    print("invoked with", json.dumps(event)[:40])
    return {"ok": True}
"""
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


def aws(daemon: ServerHandle, *args: str) -> dict:
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": "123456789012",
           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    assert AWS is not None
    done = subprocess.run([AWS, "--endpoint-url", daemon.url, "--output", "json", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_the_cli_deploys_invokes_and_reads_logs(daemon, tmp_path: Path):
    identity = aws(daemon, "sts", "get-caller-identity")
    assert identity["Account"] == "123456789012"
    role = aws(daemon, "iam", "create-role", "--role-name", "fn-role", "--assume-role-policy-document", TRUST)
    aws(daemon, "iam", "attach-role-policy", "--role-name", "fn-role", "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    package = tmp_path / "fn.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    package.write_bytes(buffer.getvalue())
    created = aws(daemon, "lambda", "create-function", "--function-name", "cli-fn", "--runtime", "python3.12",
                  "--handler", "app.handler", "--role", role["Role"]["Arn"], "--zip-file", f"fileb://{package}")
    assert created["FunctionArn"] == "arn:aws:lambda:eu-west-1:123456789012:function:cli-fn"
    aws(daemon, "lambda", "wait", "function-active-v2", "--function-name", "cli-fn")
    out = tmp_path / "out.json"
    invoked = aws(daemon, "lambda", "invoke", "--function-name", "cli-fn", "--log-type", "Tail",
                  "--payload", '{"hello": 1}', str(out))
    assert invoked["StatusCode"] == 200 and json.loads(out.read_text()) == {"ok": True}
    assert "invoked with" in base64.b64decode(invoked["LogResult"]).decode()
    queue = aws(daemon, "sqs", "create-queue", "--queue-name", "cli-q")["QueueUrl"]
    arn = aws(daemon, "sqs", "get-queue-attributes", "--queue-url", queue, "--attribute-names",
              "QueueArn")["Attributes"]["QueueArn"]
    aws(daemon, "lambda", "create-event-source-mapping", "--function-name", "cli-fn", "--event-source-arn", arn,
        "--batch-size", "1")
    daemon.advance(1)
    aws(daemon, "sqs", "send-message", "--queue-url", queue, "--message-body", "from the cli")

    def tail() -> list[str]:   # what `aws logs tail /aws/lambda/cli-fn` (CLI v2) asks for
        found = aws(daemon, "logs", "filter-log-events", "--log-group-name", "/aws/lambda/cli-fn",
                    "--start-time", "0")
        return [e["message"] for e in found["events"]]

    daemon.advance_until(lambda: "processing from the cli\n" in tail())
    messages = tail()
    assert sum(m.startswith("REPORT RequestId:") for m in messages) == 2
    streams = aws(daemon, "logs", "describe-log-streams", "--log-group-name", "/aws/lambda/cli-fn")["logStreams"]
    first = aws(daemon, "logs", "get-log-events", "--log-group-name", "/aws/lambda/cli-fn", "--log-stream-name",
                streams[0]["logStreamName"], "--start-from-head")
    assert first["events"][0]["message"].startswith(("START RequestId:", "processing", "invoked"))
    groups = aws(daemon, "logs", "describe-log-groups")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/cli-fn"]
