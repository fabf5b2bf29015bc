"""Function configuration: limits, the version-specific settings and their wire shapes.

Everything that decides whether a function, alias or EventInvokeConfig setting is valid lives
here. A :class:`VersionConfig` is one immutable snapshot: ``$LATEST``
gets a new one on every update, ``PublishVersion`` freezes the current one under a number.
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html
https://docs.aws.amazon.com/lambda/latest/api/API_TracingConfig.html
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any

import msgspec

from eventmesh.services.lambda_.errors import InvalidParameterValueException
from eventmesh.services.lambda_.logs import log_group_name

__all__ = [
    "DEFAULT_MAX_EVENT_AGE_S",
    "DEFAULT_MAX_RETRY_ATTEMPTS",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S",
    "LATEST",
    "LayerRef",
    "MAX_ASYNC_PAYLOAD_BYTES",
    "MAX_ENVIRONMENT_BYTES",
    "MAX_MAX_EVENT_AGE_S",
    "MAX_MEMORY_MB",
    "MAX_ASYNC_RETRY_ATTEMPTS",
    "MAX_SYNC_PAYLOAD_BYTES",
    "MAX_TIMEOUT_S",
    "MIN_MAX_EVENT_AGE_S",
    "MIN_MEMORY_MB",
    "MIN_TIMEOUT_S",
    "RESERVED_ENVIRONMENT_KEYS",
    "EventInvokeConfig",
    "FunctionConfiguration",
    "LoggingSettings",
    "RoutingConfig",
    "VersionConfig",
    "code_sha256",
    "lambda_timestamp",
    "logging_settings",
    "validate_alias_name",
    "validate_environment",
    "validate_invoke_config",
    "validate_memory",
    "validate_routing",
    "validate_timeout",
]

# Function configuration limits.
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240           # MemorySize (32,768 is the "Managed Instances" mode: rejected here)
DEFAULT_MEMORY_MB = 128
MIN_TIMEOUT_S = 1
MAX_TIMEOUT_S = 900              # Timeout
DEFAULT_TIMEOUT_S = 3
MAX_ENVIRONMENT_BYTES = 4_096    # Environment variables, total
MAX_SYNC_PAYLOAD_BYTES = 6_291_456   # Invocation payload (request and response), synchronous
MAX_ASYNC_PAYLOAD_BYTES = 1_048_576  # Invocation payload, asynchronous
MAX_FUNCTION_NAME_CHARS = 64
DEFAULT_EPHEMERAL_STORAGE_MB = 512

# EventInvokeConfig.
DEFAULT_MAX_RETRY_ATTEMPTS = 2
MAX_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_S = 21_600  # 6 hours
MIN_MAX_EVENT_AGE_S = 60
MAX_MAX_EVENT_AGE_S = 21_600

LATEST = "$LATEST"
DEFAULT_ARCHITECTURE = "x86_64"   # Architectures: ["x86_64"] unless ["arm64"] is asked for
DEFAULT_TRACING_MODE = "PassThrough"
LOG_FORMAT_TEXT = "Text"          # the default log format
LOG_FORMAT_JSON = "JSON"
DEFAULT_LOG_LEVEL = "INFO"        # JSON format: application and system log level unless set
# Variables Lambda sets itself; a function may not set them (configuration-envvars.html).
RESERVED_ENVIRONMENT_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)")
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9-_]+")
_VERSION_KEY = re.compile(r"[0-9]+")


class LoggingSettings(msgspec.Struct, frozen=True):
    """``LoggingConfig``: the log format, the log levels (JSON format only) and the log group
    (None: ``/aws/lambda/<function>``)."""

    log_format: str = LOG_FORMAT_TEXT
    application_log_level: str | None = None
    system_log_level: str | None = None
    log_group: str | None = None

    def group(self, function_name: str) -> str:
        return self.log_group or log_group_name(function_name)

    def describe(self, function_name: str) -> dict[str, str]:
        out = {"LogFormat": self.log_format, "LogGroup": self.group(function_name)}
        if self.log_format == LOG_FORMAT_JSON:
            out["ApplicationLogLevel"] = self.application_log_level or DEFAULT_LOG_LEVEL
            out["SystemLogLevel"] = self.system_log_level or DEFAULT_LOG_LEVEL
        return out


def logging_settings(current: LoggingSettings, given: dict[str, Any] | None) -> LoggingSettings:
    """A request's ``LoggingConfig`` over the current settings: the members it names replace
    theirs. The log levels filter JSON logs only; a Text function has none (AWS answers them
    only for JSON, INFO unless set: monitoring-cloudwatchlogs-log-level.html)."""
    if not given:
        return current
    log_format = given.get("LogFormat") or current.log_format
    json_format = log_format == LOG_FORMAT_JSON
    return LoggingSettings(
        log_format,
        given.get("ApplicationLogLevel", current.application_log_level) if json_format else None,
        given.get("SystemLogLevel", current.system_log_level) if json_format else None,
        given.get("LogGroup", current.log_group) or None)


class LayerRef(msgspec.Struct, frozen=True):
    """One layer version as a function's configuration holds it: ``code`` None for a layer of
    another account that is not here (kept, not run; layers.py)."""

    arn: str
    code_size: int
    code_sha256: str = ""
    code: bytes | None = None
    unzipped_bytes: int = 0

    def describe(self) -> dict[str, Any]:
        return {"Arn": self.arn, "CodeSize": self.code_size}


class VersionConfig(msgspec.Struct, frozen=True):
    """The version-specific settings of a function (what PublishVersion freezes)."""

    runtime: str | None
    role: str
    handler: str
    description: str = ""
    timeout_s: int = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    environment: dict[str, str] = {}
    dead_letter_arn: str | None = None
    code: bytes | None = None        # the deployment package (a zip) when one was uploaded
    code_sha256: str = ""
    code_size: int = 0
    last_modified: float = 0.0
    revision_id: str = ""
    package_type: str = "Zip"
    architectures: tuple[str, ...] = (DEFAULT_ARCHITECTURE,)
    tracing_mode: str = DEFAULT_TRACING_MODE
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    layers: tuple[LayerRef, ...] = ()


class EventInvokeConfig(msgspec.Struct, frozen=True):
    """Asynchronous invocation settings of one qualifier."""

    max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    max_event_age_s: int = DEFAULT_MAX_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None
    last_modified: float = 0.0


DEFAULT_EVENT_INVOKE_CONFIG = EventInvokeConfig()


class RoutingConfig(msgspec.Struct, frozen=True):
    """An alias's weighted routing: at most one additional version with weight 0.0–1.0."""

    additional_version: str | None = None
    weight: float = 0.0


class FunctionConfiguration(msgspec.Struct, rename="pascal", omit_defaults=True):
    """The ``FunctionConfiguration`` shape of GetFunction / CreateFunction / ListFunctions."""

    function_name: str
    function_arn: str
    role: str
    handler: str
    code_size: int
    description: str
    timeout: int
    memory_size: int
    last_modified: str
    code_sha256: str
    version: str
    revision_id: str
    runtime: str | None = None
    environment: dict[str, Any] | None = None
    dead_letter_config: dict[str, str] | None = None
    logging_config: dict[str, str] | None = None
    # Always present on AWS; not omit-able defaults, so they are set in __post_init__.
    tracing_config: dict[str, str] | None = None
    state: str | None = None
    last_update_status: str | None = None
    package_type: str | None = None
    architectures: list[str] | None = None
    ephemeral_storage: dict[str, int] | None = None
    snap_start: dict[str, str] | None = None
    layers: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.tracing_config = self.tracing_config or {"Mode": "PassThrough"}
        self.state = self.state or "Active"
        self.last_update_status = self.last_update_status or "Successful"
        self.package_type = self.package_type or "Zip"
        self.architectures = self.architectures or ["x86_64"]
        self.ephemeral_storage = self.ephemeral_storage or {"Size": DEFAULT_EPHEMERAL_STORAGE_MB}
        self.snap_start = self.snap_start or {"ApplyOn": "None", "OptimizationStatus": "Off"}


def lambda_timestamp(epoch_s: float) -> str:
    """Lambda's ``LastModified`` form: ``2019-10-31T10:23:12.345+0000``."""
    seconds = int(epoch_s)
    millis = int(round((epoch_s - seconds) * 1000)) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+0000"


def code_sha256(code: bytes | None, handler: str) -> str:
    """Base64 SHA-256 of the package (of the handler reference when there is no package)."""
    return base64.b64encode(hashlib.sha256(code if code is not None else handler.encode()).digest()).decode()


def validate_function_name(name: str) -> None:
    if not name or len(name) > MAX_FUNCTION_NAME_CHARS or not _FUNCTION_NAME.fullmatch(name):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and "
            f"length between 1 and {MAX_FUNCTION_NAME_CHARS}")


def validate_memory(memory_mb: int) -> int:
    if not MIN_MEMORY_MB <= memory_mb <= MAX_MEMORY_MB:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{memory_mb}' at 'memorySize' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_MEMORY_MB}"
            if memory_mb > MAX_MEMORY_MB else
            f"1 validation error detected: Value '{memory_mb}' at 'memorySize' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_MEMORY_MB}")
    return memory_mb


def validate_timeout(timeout_s: int) -> int:
    if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{timeout_s}' at 'timeout' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_TIMEOUT_S}"
            if timeout_s > MAX_TIMEOUT_S else
            f"1 validation error detected: Value '{timeout_s}' at 'timeout' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_TIMEOUT_S}")
    return timeout_s


def validate_environment(variables: dict[str, str]) -> dict[str, str]:
    reserved = sorted(k for k in variables if k in RESERVED_ENVIRONMENT_KEYS)
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables "
            "you have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {','.join(reserved)}")
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    if size > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValueException(
            f"Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {size}")
    return {k: str(v) for k, v in variables.items()}


def validate_alias_name(name: str) -> None:
    if not 1 <= len(name) <= 128 or not _ALIAS_NAME.fullmatch(name):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")


def validate_routing(weights: dict[str, float] | None) -> RoutingConfig:
    """``AdditionalVersionWeights``: at most one numbered version, weight in [0.0, 1.0]."""
    if not weights:
        return RoutingConfig()
    shown = "{" + ", ".join(f"{k}={float(v)}" for k, v in weights.items()) + "}"
    if len(weights) > 1:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{shown}' at 'routingConfig.additionalVersionWeights' "
            f"failed to satisfy constraint: Member must have length less than or equal to 1")
    (version, weight), = weights.items()
    if weight is None or not 0.0 <= float(weight) <= 1.0:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{shown}' at 'routingConfig.additionalVersionWeights' "
            f"failed to satisfy constraint: Map value must satisfy constraint: [Member must have "
            f"value less than or equal to 1.0, Member must have value greater than or equal to 0.0, "
            f"Member must not be null]")
    if not _VERSION_KEY.fullmatch(version):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{shown}' at 'routingConfig.additionalVersionWeights' "
            f"failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
            f"regular expression pattern: [0-9]+]")
    return RoutingConfig(version, float(weight))


def validate_invoke_config(max_retry_attempts: int | None, max_event_age_s: int | None) -> None:
    if max_retry_attempts is not None and not 0 <= max_retry_attempts <= MAX_ASYNC_RETRY_ATTEMPTS:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{max_retry_attempts}' at 'maximumRetryAttempts' "
            f"failed to satisfy constraint: Member must have value less than or equal to "
            f"{MAX_ASYNC_RETRY_ATTEMPTS}")
    if max_event_age_s is not None and not MIN_MAX_EVENT_AGE_S <= max_event_age_s <= MAX_MAX_EVENT_AGE_S:
        bound = ("less than or equal to 21600" if max_event_age_s > MAX_MAX_EVENT_AGE_S
                 else "greater than or equal to 60")
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{max_event_age_s}' at 'maximumEventAgeInSeconds' "
            f"failed to satisfy constraint: Member must have value {bound}")
