"""Running a python handler: load it (import path or extracted zip) and call ``handler(event, context)``.

This is the code a worker process (``workers.py``) or the virtual-time inline runner
(``runner.py``) executes; the engine itself never calls user code. It models the Python runtime:
the event is the JSON-decoded payload; the context carries the request id, function name, version
and ARN, memory, remaining time and log names; an exception becomes the runtime's error object
(``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``) and its ``[ERROR]`` log entry, an
unloadable handler ``Runtime.ImportModuleError`` / ``Runtime.HandlerNotFound``, an unserialisable
result ``Runtime.MarshalError`` and exhausted memory ``Runtime.OutOfMemory``. As the runtime does,
:func:`install_runtime_logging` gives the root logger a handler in Lambda's format
(``[LEVEL]\\ttimestamp\\trequestId\\tmessage``), leaving its level at WARNING; a function whose
LoggingConfig says JSON (``AWS_LAMBDA_LOG_FORMAT=JSON``) gets one JSON object a record instead
(``timestamp``, ``level``, ``message``, ``logger``, ``requestId``, the exception's ``errorType``,
``errorMessage``, ``stackTrace`` and ``location``, and the record's extra attributes) and the root
logger at its application log level (``AWS_LAMBDA_LOG_LEVEL``, TRACE as DEBUG). A log entry of
several lines is written with ``\\r`` between them, so that it stays one CloudWatch event
(``services/lambda_/logs.py`` turns them back). The caller passes its clocks in.
https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html
https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.jobs import error_payload

__all__ = ["LambdaContext", "HandlerLoader", "HandlerLoadError", "execute", "execute_inline",
           "install_runtime_logging", "out_of_memory_outcome", "OUT_OF_MEMORY_ERROR_TYPE"]

OUT_OF_MEMORY_ERROR_TYPE = "Runtime.OutOfMemory"
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_LOG_FORMAT = "JSON"   # AWS_LAMBDA_LOG_FORMAT of a function whose LoggingConfig is JSON
# LogRecord attributes that are the record's own, not a caller's ``extra`` (which JSON logs carry).
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "aws_request_id"}


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
    """Loads and caches handler callables.

    In a worker (one function per process, as a Lambda execution environment) a zip's module is
    imported under its own name with the package first on ``sys.path``, as the runtime does. Inline
    (``unique_modules``: many functions in one process) each module gets a private name, so two
    functions whose zips both hold ``lambda_function.py`` do not share a module."""

    def __init__(self, unique_modules: bool = True) -> None:
        self.unique_modules = unique_modules
        self._cache: dict[tuple[str, str], Callable[..., Any]] = {}

    def load(self, job: InvocationJob) -> Callable[..., Any]:
        key = (job.code_dir, job.target)
        handler = self._cache.get(key)
        if handler is None:
            handler = self._cache[key] = self._load(job)
        return handler

    def _load(self, job: InvocationJob) -> Callable[..., Any]:
        if job.code_dir:
            file, _, name = job.target.rpartition(".")
            module = self._load_zip_module(job.code_dir, file.replace("/", "."), layer_paths(job))
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

    def _load_zip_module(self, code_dir: str, dotted: str, layers: list[str]) -> Any:
        root = os.path.realpath(code_dir)
        path = os.path.realpath(os.path.join(root, *dotted.split(".")) + ".py")
        missing = HandlerLoadError("Runtime.ImportModuleError",
                                   f"Unable to import module '{dotted}': No module named '{dotted}'")
        # The handler names a file of this package, never one beside it (a symlink or "..").
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            raise missing
        if code_dir not in sys.path:   # so the package's own modules import
            sys.path.insert(0, code_dir)
        at = sys.path.index(code_dir) + 1   # then the layers', as the runtime puts /opt after /var/task
        for entry in layers:
            if entry not in sys.path:
                sys.path.insert(at, entry)
                at += 1
        module_name = f"_eventmesh_{abs(hash(code_dir)):x}_{dotted.replace('.', '_')}" \
            if self.unique_modules else dotted
        try:
            module = sys.modules.get(module_name) if not self.unique_modules else None
            if module is None and not self.unique_modules:
                module = importlib.import_module(dotted)
            # A module of that name already loaded from elsewhere (the runtime's own "shutil") is
            # never the handler's: the package's file is loaded in its place.
            if module is None or os.path.realpath(getattr(module, "__file__", "") or "") != path:
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            return module
        except MemoryError:
            raise
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise HandlerLoadError("Runtime.ImportModuleError",
                                   f"Unable to import module '{dotted}': {exc}") from exc


def layer_paths(job: InvocationJob) -> list[str]:
    """The ``sys.path`` entries of the function's layers (services/lambda_/layers.py): each
    layer's ``python/lib/pythonX.Y/site-packages`` (the function's runtime's version, and this
    interpreter's), then each layer's ``python``; a later layer before an earlier one, as its files
    overwrite theirs in Lambda's ``/opt``. Only directories that exist."""
    versions = [job.runtime] if job.runtime.startswith("python") else []
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if own not in versions:
        versions.append(own)
    layers = list(reversed(job.layer_dirs))
    paths = [os.path.join(d, "python", "lib", v, "site-packages") for d in layers for v in versions]
    paths += [os.path.join(d, "python") for d in layers]
    return [p for p in paths if os.path.isdir(p)]


# -- the runtime's logging ------------------------------------------------------------------------

class _RequestIdFilter(logging.Filter):
    def __init__(self, current: Callable[[], str]) -> None:
        super().__init__()
        self.current = current

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.current()
        return True


class _LambdaLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """One log entry per record: inner newlines become ``\\r`` (one CloudWatch event)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record).replace("\n", "\r") + "\n")
        except Exception:
            self.handleError(record)


class _JsonLogFormatter(logging.Formatter):
    """The runtime's JSON log format: one object a record, levels as the runtime names them
    (a level between two standard ones is the lower one's)."""

    def format(self, record: logging.LogRecord) -> str:
        level = logging.getLevelName(min(logging.CRITICAL, max(logging.NOTSET, record.levelno)) // 10 * 10)
        stamp = time.strftime(LOG_DATE_FORMAT, time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        out: dict[str, Any] = {"timestamp": stamp, "level": level, "message": record.getMessage(),
                               "logger": record.name}
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, tb = record.exc_info
            out.update(errorType=kind.__name__, errorMessage=str(error), stackTrace=traceback.format_tb(tb),
                       location=f"{record.pathname}:{record.funcName}:{record.lineno}")
        request_id = getattr(record, "aws_request_id", "")
        if request_id:
            out["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in out:
                out[key] = value
        return json.dumps(out, ensure_ascii=False, default=str)


def install_runtime_logging(current_request_id: Callable[[], str], stream: TextIO | None = None) -> None:
    """Give the root logger the runtime's handler (a worker process does this once at start),
    in the format and at the level the function's environment names."""
    handler = _LambdaLogHandler(stream or sys.stdout)
    formatter: logging.Formatter
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == JSON_LOG_FORMAT:
        formatter = _JsonLogFormatter()
    else:
        formatter = logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
        formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter(current_request_id))
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper().replace("TRACE", "DEBUG")
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    root.addHandler(handler)


# -- one invocation -------------------------------------------------------------------------------

def _log_entry(*lines: str) -> str:
    """One log entry of several lines (``\\r`` inside, ``\\n`` at the end)."""
    return "\r".join(line.rstrip("\n") for line in lines) + "\n"


def out_of_memory_outcome(job: InvocationJob, duration_s: float, sink: TextIO | None = None) -> HandlerOutcome:
    """The invocation that ran out of memory: the runtime is killed, as Lambda does (the
    message goes to ``sink``, the log)."""
    message = f"RequestId: {job.request_id} Error: Runtime exited with error: signal: killed"
    (sink or sys.stderr).write(f"{message}\n{OUT_OF_MEMORY_ERROR_TYPE}\n")
    return HandlerOutcome(_error_body(OUT_OF_MEMORY_ERROR_TYPE, message), OUT_OF_MEMORY_ERROR_TYPE, message,
                          duration_s)


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def execute(job: InvocationJob, loader: HandlerLoader, now: Callable[[], float],
            elapsed: Callable[[], float], errors: TextIO | None = None,
            init_error: HandlerLoadError | None = None) -> HandlerOutcome:
    """Run one invocation. ``now`` feeds the context's remaining time; ``elapsed()`` is a
    stopwatch the caller started (the measured duration). The handler writes where ``sys.stdout``
    and ``sys.stderr`` point; the runtime's own error entries go to ``errors`` (stderr).
    ``init_error``: the init phase of this invocation already failed to load the handler."""
    sink = errors or sys.stderr
    try:
        if init_error is not None:
            raise init_error
        handler = loader.load(job)
        event = json.loads(job.payload) if job.payload else {}
    except HandlerLoadError as exc:
        sink.write(_log_entry(f"[ERROR] {exc.error_type}: {exc}", "Traceback (most recent call last):"))
        return _failure(job, exc.error_type, str(exc), [], elapsed())
    except MemoryError:
        return out_of_memory_outcome(job, elapsed(), sink)
    except ValueError as exc:
        return _failure(job, "Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}", [], elapsed())
    context = LambdaContext(job, now)
    try:
        result = handler(event, context)
    except MemoryError:
        return out_of_memory_outcome(job, elapsed(), sink)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)[1:]   # drop this module's frame
        stack = traceback.format_list(frames)
        if job.code_dir:   # as the runtime shows it: the package lives in /var/task
            stack = [line.replace(job.code_dir, "/var/task") for line in stack]
        sink.write(_log_entry(f"[ERROR] {type(exc).__name__}: {exc}", "Traceback (most recent call last):",
                              *stack))
        return _failure(job, type(exc).__name__, str(exc), stack, elapsed())
    duration = elapsed()
    try:
        payload = json.dumps(result).encode()
    except MemoryError:
        return out_of_memory_outcome(job, duration, sink)
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        sink.write(_log_entry(f"[ERROR] Runtime.MarshalError: {message}"))
        return _failure(job, "Runtime.MarshalError", message, [], duration)
    return HandlerOutcome(payload, None, None, duration)


def _failure(job: InvocationJob, error_type: str, message: str, stack: list[str],
             duration: float) -> HandlerOutcome:
    return HandlerOutcome(error_payload(error_type, message, job.request_id, stack), error_type, message,
                          duration)


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


def execute_inline(job: InvocationJob, loader: HandlerLoader, now: Callable[[], float],
                   elapsed: Callable[[], float], environment: dict[str, str]) -> HandlerOutcome:
    """Run one invocation in this process (virtual time): the function's environment is applied
    around the call (import included) and what it prints is captured as its log."""
    out = io.StringIO()
    with _environment(environment), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        outcome = execute(job, loader, now, elapsed, out)
    outcome.log = out.getvalue()
    return outcome
