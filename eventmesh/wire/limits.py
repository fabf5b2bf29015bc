"""The HTTP door's limits: every one a named setting (``server:`` in a config, ``eventmesh serve``
options), with the defaults a local developer server wants.

Timeouts here are real time: they bound sockets, not simulated work, so they run on the event
loop's clock even when the mesh's clock is virtual.

Body limits come from each service's own payload limits (set on its ``wire.service.Service`` by
its adapter, beside the AWS constants they derive from) times how much the wire encoding can grow
a payload: base64 (4/3), a JSON string escaping another JSON document (2), a form-encoded value
(every byte ``%XX``: 3). A request over its limit is refused from its ``Content-Length`` before
its body is read.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from eventmesh.errors import AccessDenied, ServiceError

__all__ = [
    "BASE64_EXPANSION",
    "DEFAULT_REQUEST_BYTES",
    "DoorError",
    "FORM_EXPANSION",
    "JSON_STRING_EXPANSION",
    "ServerSettings",
    "RequestEntityTooLarge",
    "request_bytes",
]

BASE64_EXPANSION = 4 / 3          # a blob in JSON
JSON_STRING_EXPANSION = 2         # a JSON document carried in a JSON string (each quote escaped)
FORM_EXPANSION = 3                # a form-encoded (Query) value: any byte may be %XX
ENVELOPE_BYTES = 65_536           # member names, other members, framing around the payload
DEFAULT_REQUEST_BYTES = 1_048_576  # a request of a service that names no limit of its own


def request_bytes(payload_bytes: int, expansion: float = 1.0) -> int:
    """The largest request body that can carry a payload of ``payload_bytes`` (an AWS limit) in
    an encoding that grows it by ``expansion``."""
    return math.ceil(payload_bytes * expansion) + ENVELOPE_BYTES


class DoorError(ServiceError):
    """An error of the HTTP door, not of a service: its HTTP status stands even where a service
    answers every client fault 400 (SQS's query-compatible JSON)."""


class RequestEntityTooLarge(DoorError):
    """A body over the service's request limit (the SDKs see HTTP 413)."""

    code = "RequestEntityTooLarge"
    http_status = 413


class HostNotAllowed(AccessDenied, DoorError):
    """A ``Host`` the daemon does not answer to (DNS rebinding)."""


class OriginNotAllowed(AccessDenied, DoorError):
    """A browser request from an origin the ``cors`` setting does not allow."""


class UnsupportedMediaType(DoorError):
    """A browser-only content type (``text/plain``, ``multipart/form-data``) on an AWS API."""

    code = "UnsupportedMediaType"
    http_status = 415


class ServerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The door's settings, as the ``server:`` section of a config spells them."""

    # Connections
    max_connections: int = 1_000               # open at once; one more is answered 503 and closed
    idle_timeout_s: float = 75.0               # a keep-alive connection with no request is closed
    header_timeout_s: float = 3.0              # first byte to the end of the head, else 408 and close
    #                                            (a head is one packet for any real client)
    request_timeout_s: float = 30.0            # first byte to last of a request, else 408 and close
    drain_timeout_s: float = 8.0               # SIGTERM: running work may finish this long (Docker
    #                                            stops a container 10 s after SIGTERM)
    handover_after: int = 4                    # --workers N: a connection whose requests went to one
    #                                            other worker this many times in a row is handed to
    #                                            it (0: never; docs/scale-out.md, connection affinity)
    # Requests
    max_header_count: int = 100
    max_header_bytes: int = 65_536             # the request line and every header together
    max_body_bytes: dict[str, int] = {}        # per service model name ("sqs", ...; "internal"
    #                                            for /_eventmesh): overrides AWS's limits
    spool_body_bytes: int = 1_048_576          # a body larger than this is spooled to a file
    # HTTP/2
    http2: bool = True                         # prior knowledge and h2c upgrade on the same port
    http2_max_streams: int = 100               # SETTINGS_MAX_CONCURRENT_STREAMS
    # Browsers and names (see docs/http-door.md)
    allowed_hosts: list[str] = []              # Host names beside loopback and the bound address
    cors_origins: list[str] = []               # origins browser SDKs may call from ("*": any)

    def problems(self) -> list[str]:
        """Each setting out of its range, as ``name: message``."""
        out = []
        for name in ("max_connections", "max_header_count", "max_header_bytes", "spool_body_bytes",
                     "http2_max_streams"):
            if getattr(self, name) < 1:
                out.append(f"{name}: must be at least 1")
        for name in ("idle_timeout_s", "header_timeout_s", "request_timeout_s"):
            if getattr(self, name) <= 0:
                out.append(f"{name}: must be a positive number of seconds")
        if self.drain_timeout_s < 0:
            out.append("drain_timeout_s: must be 0 or more seconds")
        if self.handover_after < 0:
            out.append("handover_after: must be 0 (never) or more")
        out += [f"max_body_bytes.{k}: must be at least 1" for k, v in self.max_body_bytes.items() if v < 1]
        return out


SETTING_NAMES = frozenset(ServerSettings.__struct_fields__)


def settings_from(data: dict[str, Any]) -> ServerSettings:
    """``ServerSettings`` from a config's ``server:`` mapping (its host/port/clock keys ignored);
    raises ``msgspec.ValidationError`` naming the bad key."""
    return msgspec.convert({k: v for k, v in data.items() if k in SETTING_NAMES}, ServerSettings)
