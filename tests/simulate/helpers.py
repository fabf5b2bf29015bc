"""Small builders for simulation tests: resources as configs spell them, scenario mappings."""

from __future__ import annotations

import statistics
from typing import Any

ROLE = "arn:aws:iam::000000000000:role/sim"
ACCOUNT = "000000000000"
REGION = "us-east-1"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def function(name: str, handler: str, **extra: Any) -> dict[str, Any]:
    return {"FunctionName": name, "Role": ROLE, "Handler": handler, "Code": {}, **extra}


def scenario(duration: str, *, resources: dict[str, Any], load: list[dict[str, Any]], seed: int = 1,
             period: str = "10s", sample: str = "1s", **extra: Any) -> dict[str, Any]:
    return {"name": "test", "duration": duration, "seed": seed, "resources": resources, "load": load,
            "report": {"period": period, "sample": sample}, **extra}


def batch_means_error(values: list[float]) -> float:
    """The standard error of the mean of ``values`` (batch means of one long run)."""
    return statistics.stdev(values) / len(values) ** 0.5
