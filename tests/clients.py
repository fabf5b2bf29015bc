"""boto3 clients for the daemon a test started: any credentials do, and no retries, so a test sees
the daemon's first answer."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def aws_client(handle: Any, service: str, key: str = "x", region: str = "us-east-1") -> Any:
    """A client of ``service`` at ``handle``'s URL, signing with access key ``key`` in ``region``."""
    return boto3.client(service, endpoint_url=handle.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
