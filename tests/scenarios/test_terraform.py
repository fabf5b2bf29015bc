"""Terraform's AWS provider deploys, re-plans (no changes) and destroys a small topology against the
daemon: an IAM role with a managed policy, a log group with retention, a function from a zip.

Runs where ``terraform`` and a local mirror of the ``hashicorp/aws`` provider exist (the
directory in ``EVENTMESH_TF_PLUGIN_DIR``, default ``/opt/tf-plugins``; Terraform cannot download
providers here); skipped otherwise."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from eventmesh.daemon import ServerHandle, serve_in_thread

TERRAFORM = shutil.which("terraform")
PLUGINS = Path(os.environ.get("EVENTMESH_TF_PLUGIN_DIR", "/opt/tf-plugins"))
PROVIDERS = sorted((PLUGINS / "registry.terraform.io" / "hashicorp" / "aws").glob("*")) if PLUGINS.is_dir() else []
pytestmark = pytest.mark.skipif(TERRAFORM is None or not PROVIDERS,
                                reason="terraform or a local hashicorp/aws provider mirror is missing")

MAIN_TF = """
terraform {
  required_providers { aws = { source = "hashicorp/aws", version = "%(version)s" } }
}
provider "aws" {
  region                  = "us-east-1"
  access_key              = "123456789012"
  secret_key              = "x"
  skip_metadata_api_check = true
  endpoints {
    sts    = "%(url)s"
    iam    = "%(url)s"
    lambda = "%(url)s"
    logs   = "%(url)s"
  }
}
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
  environment { variables = { STAGE = "dev" } }
  tags       = { team = "a" }
  depends_on = [aws_cloudwatch_log_group.fn]
}
"""


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="real", services=["sts", "iam", "lambda", "logs"])
    try:
        yield handle
    finally:
        handle.stop()


def terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM is not None
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1"}
    return subprocess.run([TERRAFORM, *args, "-input=false", "-no-color"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def test_terraform_applies_replans_and_destroys(daemon, tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import os\ndef handler(e, c):\n    print('tf', os.environ['STAGE'])\n"
                                   "    return os.environ['STAGE']\n")
    (tmp_path / "fn.zip").write_bytes(buffer.getvalue())
    (tmp_path / "main.tf").write_text(MAIN_TF % {"version": PROVIDERS[-1].name, "url": daemon.url})
    init = terraform(tmp_path, "init", f"-plugin-dir={PLUGINS}")
    assert init.returncode == 0, init.stderr
    applied = terraform(tmp_path, "apply", "-auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete! Resources: 4 added" in applied.stdout
    replanned = terraform(tmp_path, "plan", "-detailed-exitcode")
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr   # 0: no changes
    lam = boto3.client("lambda", endpoint_url=daemon.url, region_name="us-east-1",
                       aws_access_key_id="123456789012", aws_secret_access_key="x")
    out = lam.invoke(FunctionName="tf-fn")
    assert json.loads(out["Payload"].read()) == "dev"
    logs = boto3.client("logs", endpoint_url=daemon.url, region_name="us-east-1",
                        aws_access_key_id="123456789012", aws_secret_access_key="x")
    assert "tf dev\n" in [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/tf-fn")["events"]]
    destroyed = terraform(tmp_path, "destroy", "-auto-approve")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert lam.list_functions()["Functions"] == []
