"""``kinesis``: a boto3 client against a daemon of its own for each test module that asks for it
(virtual clock, Kinesis only, one attempt per call); a module may define its own instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from eventmesh.daemon import ServerHandle, serve_in_thread


@pytest.fixture(scope="module")
def kinesis() -> Iterator[Any]:
    handle: ServerHandle = serve_in_thread(clock="virtual", services=["kinesis"])
    try:
        yield boto3.client("kinesis", endpoint_url=handle.url, region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    finally:
        handle.stop()
