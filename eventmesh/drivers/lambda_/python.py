"""Running a python handler: load it (import path or extracted zip) and call ``handler(event, context)``.

This is the code a worker process (``workers.py``) or the virtual-time inline runner
(``runner.py``) executes; the engine itself never calls user code. It models the Python runtime:
the event is the JSON-decoded payload; the context carries the request id, function name, version
and ARN, memory, remaining time and log names; the function's environment variables (plus
Lambda's ``AWS_LAMBDA_*`` ones) are applied for the call; printed output is captured as the log;
an exception becomes the runtime's error object (``errorMessage``, ``errorType``, ``requestId``,
``stackTrace``), an unloadable handler ``Runtime.ImportModuleError`` / ``Runtime.HandlerNotFound``
and an unserialisable result ``Runtime.MarshalError``. The caller passes its clocks in.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.jobs import error_payload

__all__ = ["LambdaContext", "HandlerLoader", "execute", "lambda_environment"]


class LambdaContext:
    """The context object of the Python runtime."""

    def __init__(self, job: InvocationJob, now: Callable[[], float]) -> None:
        self.aws_request_id = job.request_id
        self.function_name = job.function_name
        self.function_version = job.function_version
        self.invoked_function_arn = job.invoked_function_arn
        self.memory_limit_in_mb = str(job.memory_mb)
        self.log_group_name = job.log_group
        self.log_stream_name = job.log_stream
        self.identity = None
        self.client_context = None
        self._deadline = job.deadline
        self._now = now

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._now()) * 1000))


class HandlerLoadError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class HandlerLoader:
    """Loads and caches handler callables, one module per (package, file): two functions whose
    zips both hold ``lambda_function.py`` do not share a module."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Callable[..., Any]] = {}

    def load(self, job: InvocationJob) -> Callable[..., Any]:
        key = (job.code_dir, job.target)
        handler = self._cache.get(key)
        if handler is None:
            handler = self._cache[key] = self._load(job)
        return handler

    @staticmethod
    def _load(job: InvocationJob) -> Callable[..., Any]:
        if job.code_dir:
            file, _, name = job.target.rpartition(".")
            path = os.path.join(job.code_dir, *file.split(".")) + ".py"
            module_name = f"_eventmesh_{abs(hash(job.code_dir)):x}_{file.replace('.', '_')}"
            if not os.path.exists(path):
                raise HandlerLoadError("Runtime.ImportModuleError",
                                       f"Unable to import module '{file}': No module named '{file}'")
            if job.code_dir not in sys.path:   # so the package's own modules import
                sys.path.insert(0, job.code_dir)
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                sys.modules.pop(module_name, None)
                raise HandlerLoadError("Runtime.ImportModuleError",
                                       f"Unable to import module '{file}': {exc}") from exc
        else:
            file, _, name = job.target.partition(":")
            try:
                module = importlib.import_module(file)
            except Exception as exc:
                raise HandlerLoadError("Runtime.ImportModuleError",
                                       f"Unable to import module '{file}': {exc}") from exc
        handler = getattr(module, name, None)
        if not callable(handler):
            raise HandlerLoadError("Runtime.HandlerNotFound", f"Handler '{name}' missing on module '{file}'")
        return handler


def lambda_environment(job: InvocationJob) -> dict[str, str]:
    """The function's variables plus the ones Lambda sets for every function."""
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": job.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": job.function_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(job.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": job.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": job.log_stream,
        "AWS_REGION": job.region,
        "AWS_DEFAULT_REGION": job.region,
        "_HANDLER": job.target,
    }
    if job.code_dir:
        env["LAMBDA_TASK_ROOT"] = job.code_dir
    env.update(job.environment)
    return env


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Any:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute(job: InvocationJob, loader: HandlerLoader, now: Callable[[], float],
            elapsed: Callable[[], float]) -> HandlerOutcome:
    """Run one invocation. ``now`` feeds the context's remaining time; ``elapsed()`` is a
    stopwatch the caller started (the measured duration)."""
    out = io.StringIO()
    try:
        handler = loader.load(job)
        event = json.loads(job.payload) if job.payload else {}
    except HandlerLoadError as exc:
        return _failure(job, exc.error_type, str(exc), [], f"[ERROR] {exc.error_type}: {exc}\n", elapsed())
    except ValueError as exc:
        return _failure(job, "Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}", [], "", elapsed())
    context = LambdaContext(job, now)
    try:
        with _environment(lambda_environment(job)), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(out):
            result = handler(event, context)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)[1:]   # drop this module's frame
        stack = traceback.format_list(frames)
        if job.code_dir:   # as the runtime shows it: the package lives in /var/task
            stack = [line.replace(job.code_dir, "/var/task") for line in stack]
        log = out.getvalue() + f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n"
        log += "".join(stack)
        return _failure(job, type(exc).__name__, str(exc), stack, log, elapsed())
    duration = elapsed()
    try:
        payload = json.dumps(result).encode()
    except (TypeError, ValueError) as exc:
        return _failure(job, "Runtime.MarshalError", f"Unable to marshal response: {exc}", [],
                        out.getvalue(), duration)
    return HandlerOutcome(payload, None, None, duration, out.getvalue())


def _failure(job: InvocationJob, error_type: str, message: str, stack: list[str], log: str,
             duration: float) -> HandlerOutcome:
    return HandlerOutcome(error_payload(error_type, message, job.request_id, stack), error_type, message,
                          duration, log)
