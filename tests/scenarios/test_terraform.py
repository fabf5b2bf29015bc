"""Terraform's AWS provider deploys, re-plans (no changes) and destroys an event topology that
spans every service the daemon serves, and the deliveries it wires run: queues (a redrive to a
DLQ, a FIFO queue, a queue policy), a topic with a filtered raw SQS subscription, a stream, a bus
with a rule targeting a queue and a function, the function with its role, policy attachment, log
group and permission (it reports what it is given on the FIFO queue), and event source mappings
from a queue and a stream.

Runs where ``terraform`` and a local mirror of the ``hashicorp/aws`` provider exist (the
directory in ``EVENTMESH_TF_PLUGIN_DIR``, default ``/opt/tf-plugins``; Terraform cannot download
providers here); skipped otherwise.

Its wall time is mostly the provider's own waits, which it spends against AWS too: after every
CreateQueue and every queue policy change it reads GetQueueAttributes until six reads in a row
match, five seconds apart (25 s), and the DLQ → queue and queue → policy chains run two of those
in turn (and removing the queue policy at destroy is one more); the rest is the provider loading
its schema, a few seconds for each command."""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventmesh.config import Config
from eventmesh.daemon import ServerHandle, serve_in_thread

TERRAFORM = shutil.which("terraform")
PLUGINS = Path(os.environ.get("EVENTMESH_TF_PLUGIN_DIR", "/opt/tf-plugins"))
# The mirror's layout: registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/terraform-provider-aws_*
PLATFORM = f"{platform.system().lower()}_" + {"x86_64": "amd64", "aarch64": "arm64"}.get(
    platform.machine().lower(), platform.machine().lower())


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.split(".") if part.isdigit())


PROVIDERS = sorted((v for v in (PLUGINS / "registry.terraform.io" / "hashicorp" / "aws").glob("*")
                    if any((v / PLATFORM).glob("terraform-provider-aws*"))), key=_version) if PLUGINS.is_dir() else []
pytestmark = pytest.mark.skipif(TERRAFORM is None or not PROVIDERS,
                                reason=f"terraform or a local hashicorp/aws provider mirror for {PLATFORM} is missing")
ACCOUNT = "123456789012"
DELIVERY_WAIT_S = 20  # bound on each delivery the test waits for (long polls, not sleeps)

MAIN_TF = """
terraform {
  required_providers { aws = { source = "hashicorp/aws", version = "%(version)s" } }
}
provider "aws" {
  region                  = "us-east-1"
  access_key              = "%(account)s"
  secret_key              = "x"
  skip_metadata_api_check = true
  endpoints {
    sts     = "%(url)s"
    iam     = "%(url)s"
    lambda  = "%(url)s"
    logs    = "%(url)s"
    sqs     = "%(url)s"
    sns     = "%(url)s"
    kinesis = "%(url)s"
    events  = "%(url)s"
  }
}

# -- the function, its role and its logs ----------------------------------------------------------
resource "aws_iam_role" "fn" {
  name               = "tf-fn"
  assume_role_policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",
    Principal = {Service = "lambda.amazonaws.com"}, Action = "sts:AssumeRole"}]})
}
resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.fn.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}
resource "aws_cloudwatch_log_group" "fn" {
  name              = "/aws/lambda/tf-fn"
  retention_in_days = 7
}
resource "aws_lambda_function" "fn" {
  function_name    = "tf-fn"
  role             = aws_iam_role.fn.arn
  handler          = "app.handler"
  runtime          = "python3.12"
  filename         = "fn.zip"
  source_code_hash = filebase64sha256("fn.zip")
  environment {
    variables = { STAGE = "dev", RESULTS = aws_sqs_queue.results.url }
  }
  architectures  = ["arm64"]
  tracing_config { mode = "Active" }
  logging_config { log_format = "JSON" }
  tags       = { team = "a" }
  depends_on = [aws_cloudwatch_log_group.fn]
}

# -- queues -----------------------------------------------------------------------------------------
resource "aws_sqs_queue" "dlq" {
  name                      = "tf-dlq"
  message_retention_seconds = 1209600
  redrive_allow_policy      = jsonencode({ redrivePermission = "allowAll" })
}
resource "aws_sqs_queue" "orders" {
  name                       = "tf-orders"
  visibility_timeout_seconds = 3
  receive_wait_time_seconds  = 1
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dlq.arn, maxReceiveCount = 1 })
  tags = { team = "a" }
}
resource "aws_sqs_queue" "inbox" {
  name                    = "tf-inbox"
  sqs_managed_sse_enabled = true
}
resource "aws_sqs_queue" "results" {
  name                        = "tf-results.fifo"
  fifo_queue                  = true
  content_based_deduplication = true
  deduplication_scope         = "messageGroup"
  fifo_throughput_limit       = "perMessageGroupId"
}
resource "aws_sqs_queue_policy" "inbox" {
  queue_url = aws_sqs_queue.inbox.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "events", Effect = "Allow", Principal = { Service = "events.amazonaws.com" },
        Action = "sqs:SendMessage", Resource = aws_sqs_queue.inbox.arn,
        Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.placed.arn } } },
      { Sid = "sns", Effect = "Allow", Principal = { Service = "sns.amazonaws.com" },
        Action = "sqs:SendMessage", Resource = aws_sqs_queue.inbox.arn,
        Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.orders.arn } } },
    ]
  })
}

# -- a topic with a filtered, raw subscription ------------------------------------------------------
resource "aws_sns_topic" "orders" {
  name = "tf-orders"
}
resource "aws_sns_topic_subscription" "inbox" {
  topic_arn            = aws_sns_topic.orders.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.inbox.arn
  raw_message_delivery = true
  filter_policy        = jsonencode({ kind = ["order"] })
}

# -- a stream ---------------------------------------------------------------------------------------
resource "aws_kinesis_stream" "clicks" {
  name                = "tf-clicks"
  shard_count         = 1
  retention_period    = 48
  shard_level_metrics = ["IncomingBytes", "OutgoingBytes"]
  encryption_type     = "KMS"
  kms_key_id          = "alias/aws/kinesis"
}

# -- a bus, a rule and its targets ------------------------------------------------------------------
resource "aws_cloudwatch_event_bus" "shop" {
  name = "tf-shop"
}
resource "aws_cloudwatch_event_rule" "placed" {
  name           = "tf-placed"
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  event_pattern  = jsonencode({ source = ["shop"], "detail-type" = ["OrderPlaced"] })
}
resource "aws_cloudwatch_event_target" "inbox" {
  rule           = aws_cloudwatch_event_rule.placed.name
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  target_id      = "inbox"
  arn            = aws_sqs_queue.inbox.arn
}
resource "aws_cloudwatch_event_target" "fn" {
  rule           = aws_cloudwatch_event_rule.placed.name
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  target_id      = "fn"
  arn            = aws_lambda_function.fn.arn
  input_path     = "$.detail"
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 2
  }
  dead_letter_config { arn = aws_sqs_queue.dlq.arn }
}
resource "aws_lambda_permission" "events" {
  statement_id  = "events"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.placed.arn
}

# -- event source mappings --------------------------------------------------------------------------
resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn = aws_sqs_queue.orders.arn
  function_name    = aws_lambda_function.fn.arn
  batch_size       = 1
}
resource "aws_lambda_event_source_mapping" "clicks" {
  event_source_arn  = aws_kinesis_stream.clicks.arn
  function_name     = aws_lambda_function.fn.arn
  starting_position = "TRIM_HORIZON"
  batch_size        = 10
}
"""
RESOURCES = MAIN_TF.count('\nresource "')

# The function reports what it was given on the FIFO queue (its SDK reaches the daemon through
# AWS_ENDPOINT_URL, as Lambda's environment gives it); a "poison" order fails, to reach the DLQ.
HANDLER = """
import base64, os
import boto3

sqs = boto3.client("sqs")


def report(text):
    sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody=text, MessageGroupId="results")


def handler(event, context):
    if "Records" not in event:
        if "order" in event:                       # the rule's target, given $.detail
            report(f"events {event['order']}")
            return os.environ["STAGE"]
        return os.environ["STAGE"]                 # a direct Invoke
    for record in event["Records"]:
        if record.get("eventSource") == "aws:sqs":
            if record["body"] == "poison":
                raise ValueError("poison")
            report(f"sqs {record['body']}")
        else:
            report(f"kinesis {base64.b64decode(record['kinesis']['data']).decode()}")
    print("tf", os.environ["STAGE"])
"""


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    # The provider parses a queue URL as AWS's /<account>/<name>: the host form gives that shape.
    handle = serve_in_thread(Config(queue_urls="host"), clock="real")
    try:
        yield handle
    finally:
        handle.stop()


def terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM is not None
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1"}
    interactive = ["-input=false"] if args[0] in ("init", "apply", "plan", "destroy") else []
    return subprocess.run([TERRAFORM, *args, *interactive, "-no-color"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def client(daemon: ServerHandle, service: str) -> Any:
    return boto3.client(service, endpoint_url=daemon.url, region_name="us-east-1",
                        aws_access_key_id=ACCOUNT, aws_secret_access_key="x")


def receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    """Long-poll ``url`` until ``count`` messages arrived (deleting them) or the bound passed."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + DELIVERY_WAIT_S
    while len(got) < count and time.monotonic() < deadline:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                  MessageAttributeNames=["All"])
        for message in out.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(message)
    return got


def drive_traffic(daemon: ServerHandle, outputs: dict[str, Any]) -> None:
    """Traffic through the applied topology, with boto3, at the URLs and ARNs Terraform reports."""
    sqs, sns, kinesis, events, lam = (client(daemon, s) for s in ("sqs", "sns", "kinesis", "events", "lambda"))
    assert json.loads(lam.invoke(FunctionName="tf-fn")["Payload"].read()) == "dev"

    # A topic's subscription applies its filter and delivers the message raw.
    for kind, text in (("refund", "refund 7"), ("order", "order 42")):
        sns.publish(TopicArn=outputs["topic_arn"], Message=text,
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    # The rule sends the event to the queue and its detail to the function.
    put = events.put_events(Entries=[
        {"EventBusName": "tf-shop", "Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"order": 43}'},
        {"EventBusName": "tf-shop", "Source": "shop", "DetailType": "OrderCancelled", "Detail": '{"order": 44}'},
    ])
    assert put["FailedEntryCount"] == 0
    inbox = receive(sqs, outputs["inbox_url"], 2)
    events_json = [m["Body"] for m in inbox if m["Body"].startswith("{")]
    # Raw delivery: the message itself, not SNS's JSON envelope; the refund was filtered out.
    assert [m["Body"] for m in inbox if not m["Body"].startswith("{")] == ["order 42"]
    assert len(events_json) == 1
    event = json.loads(events_json[0])
    assert (event["source"], event["detail-type"], event["detail"]) == ("shop", "OrderPlaced", {"order": 43})
    assert event["account"] == ACCOUNT and event["region"] == "us-east-1"

    # The queue's and the stream's mappings invoke the function; a failing order reaches the DLQ.
    sqs.send_message(QueueUrl=outputs["orders_url"], MessageBody="order 45")
    sqs.send_message(QueueUrl=outputs["orders_url"], MessageBody="poison")
    kinesis.put_record(StreamName="tf-clicks", Data=b"click 1", PartitionKey="p")
    results = receive(sqs, outputs["results_url"], 3)
    assert sorted(m["Body"] for m in results) == ["events 43", "kinesis click 1", "sqs order 45"]
    dead = receive(sqs, outputs["dlq_url"], 1)
    assert [m["Body"] for m in dead] == ["poison"]
    logs = client(daemon, "logs")
    messages = [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/tf-fn")["events"]]
    assert "tf dev\n" in messages


OUTPUTS_TF = """
output "topic_arn" { value = aws_sns_topic.orders.arn }
output "inbox_url" { value = aws_sqs_queue.inbox.url }
output "orders_url" { value = aws_sqs_queue.orders.url }
output "results_url" { value = aws_sqs_queue.results.url }
output "dlq_url" { value = aws_sqs_queue.dlq.url }
output "function_qualified_arn" { value = aws_lambda_function.fn.qualified_arn }
"""


def test_terraform_applies_replans_and_destroys(daemon: ServerHandle, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    (tmp_path / "fn.zip").write_bytes(buffer.getvalue())
    (tmp_path / "main.tf").write_text(MAIN_TF % {"version": PROVIDERS[-1].name, "url": daemon.url,
                                                 "account": ACCOUNT} + OUTPUTS_TF)
    init = terraform(tmp_path, "init", f"-plugin-dir={PLUGINS}")
    assert init.returncode == 0, init.stderr
    applied = terraform(tmp_path, "apply", "-auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"Apply complete! Resources: {RESOURCES} added" in applied.stdout
    shown = terraform(tmp_path, "output", "-json")
    outputs = {name: value["value"] for name, value in json.loads(shown.stdout).items()}
    # Queue URLs of AWS's shape, the Region in the host: http://sqs.us-east-1.localhost:<port>/...
    assert outputs["inbox_url"] == f"http://sqs.us-east-1.localhost:{daemon.url.rsplit(':', 1)[1]}/{ACCOUNT}/tf-inbox"
    assert outputs["function_qualified_arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:tf-fn:$LATEST"

    drive_traffic(daemon, outputs)

    replanned = terraform(tmp_path, "plan", "-detailed-exitcode")
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr   # 0: no changes
    destroyed = terraform(tmp_path, "destroy", "-auto-approve")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert f"Destroy complete! Resources: {RESOURCES} destroyed" in destroyed.stdout
    assert client(daemon, "lambda").list_functions()["Functions"] == []
    assert "QueueUrls" not in client(daemon, "sqs").list_queues()
    assert client(daemon, "sns").list_topics()["Topics"] == []
    assert client(daemon, "kinesis").list_streams()["StreamNames"] == []
    assert [b["Name"] for b in client(daemon, "events").list_event_buses()["EventBuses"]] == ["default"]
    assert client(daemon, "lambda").list_event_source_mappings()["EventSourceMappings"] == []
