"""The one place errors become wire responses, per protocol.

* JSON 1.0/1.1: ``{"__type": "…#Code", "message": "…"}``; SQS adds ``x-amzn-query-error:
  <legacy code>;Sender|Receiver``, with the error's own status.
* CBOR: the same document, CBOR-encoded (Kinesis).
* Query: ``<ErrorResponse><Error><Type/><Code/><Message/><Detail/></Error><RequestId/></ErrorResponse>``
  with the error's HTTP status; SNS writes no ``<Detail/>`` (``query_detail=False``), SQS does.
* REST-JSON (Lambda): ``x-amzn-ErrorType: Code`` and ``{"Type": "User", "Message": "…"}``,
  plus any extra body fields (``extra``, e.g. ``Reason``) and response
  headers (``headers``, e.g. ``Retry-After``) the error carries.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/Welcome.html
https://docs.aws.amazon.com/sns/latest/api/CommonParameters.html
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
"""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.errors import ServiceError
from eventmesh.wire.protocols.query import escape

__all__ = ["Response", "render_error"]

Response = tuple[int, list[tuple[str, str]], bytes]

_encode = msgspec.json.encode


def _fault(err: ServiceError) -> str:
    return "Sender" if err.sender_fault else "Receiver"


def render_error(err: ServiceError, protocol: str, request_id: str, *, json_version: str = "1.0",
                 query_compatible: bool = False, type_prefix: str = "",
                 namespace: str = "", query_detail: bool = True) -> Response:
    headers = [("x-amzn-RequestId", request_id)]
    headers.extend((getattr(err, "headers", None) or {}).items())
    extra: dict[str, Any] = getattr(err, "extra", None) or {}
    if protocol in ("json", "cbor"):
        status = err.http_status
        document: dict[str, Any] = {"__type": f"{type_prefix}{err.code}", "message": err.message}
        document.update(extra)
        if query_compatible:
            # The status is the error's own on both protocols (SQS PurgeQueueInProgress 403,
            # ResourceNotFoundException 404), as the model's awsQueryError trait gives it.
            headers.append(("x-amzn-query-error", f"{err.wire_query_code};{_fault(err)}"))
        if protocol == "cbor":
            from eventmesh.wire.protocols import cbor

            headers.append(("Content-Type", "application/x-amz-cbor-1.1"))
            return status, headers, cbor.encode(document)
        headers.append(("Content-Type", f"application/x-amz-json-{json_version}"))
        return status, headers, _encode(document)
    if protocol == "query":
        code = err.wire_query_code
        xmlns = f' xmlns="{namespace}"' if namespace else ""
        detail = "<Detail/>" if query_detail else ""
        message = getattr(err, "query_message", None) or err.message  # SQS words some errors apart
        body = (f'<?xml version="1.0"?><ErrorResponse{xmlns}><Error><Type>{_fault(err)}</Type>'
                f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>{detail}</Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        headers.append(("Content-Type", "text/xml"))
        return err.http_status, headers, body.encode()
    # rest-json
    # Most Lambda errors spell it "Message"; a few (the 429 throttle) "message".
    key = getattr(err, "message_key", "Message")
    document = {"Type": "User" if err.sender_fault else "Service", key: err.message}
    document.update(extra)
    headers.append(("x-amzn-ErrorType", err.code))
    headers.append(("Content-Type", "application/json"))
    return err.http_status, headers, _encode(document)
