"""What every execution environment shares: its identity, its log stream, how it ends badly.

An environment (a python worker, a Runtime API process) serves one function version and
configuration revision (:func:`environment_key`), writes to a log stream of its own
(:func:`log_stream_name`), gets 10 s to initialise and reports ``Runtime.ExitError`` when its
process ends in the middle of an invocation.
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.jobs import error_payload

__all__ = ["INIT_TIMEOUT_S", "Environment", "environment_key", "exit_error", "log_stream_name"]

INIT_TIMEOUT_S = 10.0   # the init phase of an on-demand function: 10 s


def environment_key(job: InvocationJob) -> tuple[str, str, str, str, str]:
    """Invocations that may share an execution environment."""
    return (job.account_id, job.region, job.function_name, job.function_version, job.revision_id)


def log_stream_name(job: InvocationJob, now: float) -> str:
    """``2024/05/01/[$LATEST]0123…``: one stream per execution environment, as Lambda names them."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime(now))}/[{job.function_version}]{uuid.uuid4().hex}"


def exit_error(job: InvocationJob, returncode: int | None, duration_s: float, log: str = "") -> HandlerOutcome:
    """``Runtime.ExitError``: the process ended during the invocation."""
    if returncode is not None and returncode < 0:
        reason = f"signal: {'killed' if returncode == -9 else -returncode}"
    else:
        reason = f"exit status {returncode}"
    message = f"RequestId: {job.request_id} Error: Runtime exited with error: {reason}"
    return HandlerOutcome(error_payload("Runtime.ExitError", message, job.request_id), "Runtime.ExitError",
                          message, duration_s, log + f"{message}\nRuntime.ExitError\n")


class Environment(Protocol):
    """One execution environment (a process) of one function version."""

    key: tuple[str, str, str, str, str]

    def call(self, job: InvocationJob) -> HandlerOutcome: ...

    @property
    def alive(self) -> bool: ...

    def kill(self) -> None: ...
