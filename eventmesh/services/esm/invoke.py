"""How a poller reaches its function and reads the function's answer.

The pollers call ``invoke_batch(payload, on_done, source_arn[, qualifier]) -> bool`` on the
resource at the function ARN (``services/lambda_/function.py``; ``False`` = throttled) and interpret
the result here: success, whole-batch failure, or a partial batch response.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["ALL_FAILED", "MAX_THROTTLE_BACKOFF_S", "THROTTLED", "THROTTLE_BACKOFF_S", "RemoteFunctions", "failed_items",
           "find_target", "function_at", "function_role", "function_timeout", "throttle_backoff_s"]

ALL_FAILED = object()     # the whole batch failed (error, invalid partial response)
# A throttled batch (or a system error, or a function that is gone) is tried again after a back-off
# doubling from 1 s; AWS publishes no figures: the ceiling is an emulation choice.
THROTTLE_BACKOFF_S = 1.0
MAX_THROTTLE_BACKOFF_S = 30.0
_decode = msgspec.json.Decoder()


def throttle_backoff_s(throttles: int) -> float:
    """The wait before trying a batch again after its ``throttles``-th throttle (1-based)."""
    return min(THROTTLE_BACKOFF_S * 2 ** (throttles - 1), MAX_THROTTLE_BACKOFF_S)


# What a function in another process answers ``on_done`` with when it throttled the batch (an
# invocation there cannot return False at once): the poller backs off as for a local throttle.
THROTTLED: Any = object()


class RemoteFunctions:
    """Stand-ins for functions another worker process runs (``eventmesh serve --workers N``: the
    mapping lives with its source, the function at its account's home), by unqualified ARN. A
    stand-in has what a poller reads of a function (``latest.timeout_s``, ``latest.config.role``)
    and an ``invoke_batch`` that always starts and answers ``on_done`` later (``THROTTLED`` too)."""

    def __init__(self, mesh: Any = None) -> None:
        self.stand_ins: dict[str, Any] = {}


def function_at(mesh: Any, unqualified_arn: str) -> Any | None:
    """The function at ``unqualified_arn``: here, or its stand-in; None when it is gone."""
    found = mesh.find(unqualified_arn, object)
    if found is None:
        found = mesh.root.state(RemoteFunctions).stand_ins.get(unqualified_arn)
    return found


def find_target(mesh: Any, function_arn: str) -> Any | None:
    """The function resource (unqualified ARN) a mapping invokes, or None when it is gone."""
    parts = function_arn.split(":")
    return function_at(mesh, ":".join(parts[:7]))


def qualifier_of(function_arn: str) -> str | None:
    parts = function_arn.split(":")
    return parts[7] if len(parts) > 7 else None


def function_timeout(function: Any) -> float:
    """The function's timeout in seconds (the $LATEST configuration)."""
    latest = getattr(function, "latest", None)
    if latest is not None:
        return float(latest.timeout_s)
    return float(getattr(function, "timeout_s", 3.0))


def function_role(function: Any, account_id: str) -> str:
    latest = getattr(function, "latest", None)
    if latest is not None:
        return str(latest.config.role)
    return str(getattr(function, "role", f"arn:aws:iam::{account_id}:role/lambda-role"))


def failed_items(payload: bytes, identifiers: set[str]) -> object | list[str] | None:
    """Read a ``ReportBatchItemFailures`` response: None = success (delete/checkpoint all), a list
    of failed identifiers, or ALL_FAILED. Success: ``[]``/null list, ``{}``, ``null``, ``""``,
    ``[]``. Whole failure: invalid JSON, an entry with an empty/null/non-string identifier or a
    wrong key, an identifier not in the batch."""
    text = payload.strip()
    if not text or text in (b'""', b"null", b"{}", b"[]"):
        return None
    try:
        response = _decode.decode(text)
    except msgspec.DecodeError:
        return ALL_FAILED
    if response is None or response == "" or response == [] or response == {}:
        return None
    if not isinstance(response, dict):
        return ALL_FAILED
    entries = response.get("batchItemFailures")
    if not entries:
        return None if entries is None or entries == [] else ALL_FAILED
    if not isinstance(entries, list):
        return ALL_FAILED
    failed: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            return ALL_FAILED
        ident = entry.get("itemIdentifier")
        if not isinstance(ident, str) or not ident or ident not in identifiers:
            return ALL_FAILED
        failed.append(ident)
    return failed
