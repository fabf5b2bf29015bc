"""What one invocation writes to CloudWatch Logs, and the ``LogResult`` tail of a synchronous call.

An invocation of code (python, Runtime API, http) appends to its environment's stream of the log
group ``/aws/lambda/<function>`` (through the ``effects.LogEvents`` effect: the Logs service
keeps them): on a cold start what the code wrote while it initialised, then
``START RequestId: <id> Version: <version>``, what the code wrote (one event per line; an entry
the runtime wrote with ``\\r`` between its lines is one event), a timeout's
``<time> <id> Task timed out after 3.00 seconds``, ``END RequestId: <id>`` and the
``REPORT RequestId: <id>\\tDuration: …\\tBilled Duration: …\\tMemory Size: …\\tMax Memory Used: …``
line (``Init Duration`` on cold starts; billed time is the duration plus init, rounded up to the
millisecond; ``Max Memory Used`` only where the runner measured it). Every message ends with a
newline, as Lambda's do. ``LogResult`` (``LogType=Tail``) is the base64 of the last 4 KB.
Synthetic (model) functions run no code and write nothing to CloudWatch Logs; their tail is built
the same way. Cost: one list of tuples per invocation, built when it ends.
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/
"""

from __future__ import annotations

import base64
import math
import time

__all__ = ["MAX_LOG_TAIL_BYTES", "invocation_events", "log_group_name", "log_tail", "split_output"]

MAX_LOG_TAIL_BYTES = 4_096   # X-Amz-Log-Result is the last 4 KB of the log (API_Invoke.html)
LOG_GROUP_PREFIX = "/aws/lambda/"


def log_group_name(function_name: str) -> str:
    return f"{LOG_GROUP_PREFIX}{function_name}"


def split_output(text: str) -> list[str]:
    """Output as log messages: one per line, a ``\\r``-joined entry as one message."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.replace("\r", "\n") + "\n" for line in lines]


def _iso_ms(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{int(epoch_s * 1000) % 1000:03d}Z"


def invocation_events(*, request_id: str, version: str, memory_mb: int, started_at: float, ended_at: float,
                      duration_s: float, log: str = "", init_log: str = "", init_duration_s: float = 0.0,
                      max_memory_mb: int = 0, timeout_s: float | None = None) -> list[tuple[int, str]]:
    """The ``(timestamp_ms, message)`` events of one invocation (see the module docstring);
    ``timeout_s`` set: it timed out after that many seconds. ~2 µs for an invocation that wrote
    nothing (three short f-strings and the REPORT line's float formatting)."""
    start_ms = int(started_at * 1000)
    end_ms = int(ended_at * 1000)
    if end_ms < start_ms:
        end_ms = start_ms
    events = [(start_ms, message) for message in split_output(init_log)] if init_log else []
    events.append((start_ms, f"START RequestId: {request_id} Version: {version}\n"))
    if log:
        events.extend([(start_ms, message) for message in split_output(log)])
    if timeout_s is not None:
        events.append((end_ms, f"{_iso_ms(ended_at)} {request_id} Task timed out after {timeout_s:.2f} seconds\n"))
    events.append((end_ms, f"END RequestId: {request_id}\n"))
    duration_ms = duration_s * 1000.0
    init_ms = init_duration_s * 1000.0
    billed = math.ceil(duration_ms + init_ms) or 1
    report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
              f"Billed Duration: {billed} ms\tMemory Size: {memory_mb} MB\t")
    if max_memory_mb:
        report += f"Max Memory Used: {max_memory_mb} MB\t"
    if init_ms:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    if timeout_s is not None:
        report += "Status: timeout\t"
    events.append((end_ms, report + "\n"))
    return events


def log_tail(events: list[tuple[int, str]]) -> str:
    """``LogResult``: base64 of the last 4 KB of the invocation's log."""
    text = "".join(message for _, message in events).encode()
    return base64.b64encode(text[-MAX_LOG_TAIL_BYTES:]).decode()
