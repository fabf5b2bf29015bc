"""Running an http handler: POST the event to a URL and use its response.

The URL is typically a container running the Lambda Runtime Interface Emulator
(``http://localhost:9000/2015-03-31/functions/function/invocations``). A 2xx answer is the
function's response; an ``X-Amz-Function-Error`` header, or a non-2xx status, makes it a function
error (``errorType`` read from the JSON body when there is one). No answer within the function's
timeout is Lambda's timeout error. An endpoint that cannot be reached at all is a *system* error:
the code never ran, so synchronous callers get ``ServiceException`` and asynchronous events are
retried like throttles. Blocking; the runner calls it from a thread (real time) or inline.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable

from eventmesh.effects import HandlerOutcome, InvocationJob
from eventmesh.services.lambda_.jobs import timeout_outcome

__all__ = ["execute_http"]

HTTP_ERROR_TYPE = "Runtime.HttpError"


def execute_http(job: InvocationJob, elapsed: Callable[[], float]) -> HandlerOutcome:
    request = urllib.request.Request(
        job.target, data=job.payload or b"{}", method="POST",
        headers={"Content-Type": "application/json", "Lambda-Runtime-Aws-Request-Id": job.request_id,
                 "Lambda-Runtime-Invoked-Function-Arn": job.invoked_function_arn})
    try:
        with urllib.request.urlopen(request, timeout=job.timeout_s) as response:
            body = response.read()
            function_error = response.headers.get("X-Amz-Function-Error")
            status = response.status
    except urllib.error.HTTPError as exc:
        body, function_error, status = exc.read(), exc.headers.get("X-Amz-Function-Error"), exc.code
    except TimeoutError:
        return timeout_outcome(job.request_id, job.timeout_s)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return timeout_outcome(job.request_id, job.timeout_s)
        return HandlerOutcome(b"", "ServiceException", f"http handler {job.target} unreachable: {reason}",
                              elapsed(), system_error=True)
    duration = elapsed()
    if function_error is None and 200 <= status < 300:
        return HandlerOutcome(body, None, None, duration)
    error_type, message = HTTP_ERROR_TYPE, f"http handler answered {status}"
    try:
        obj = json.loads(body)
        if isinstance(obj, dict):
            error_type = str(obj.get("errorType") or error_type)
            message = str(obj.get("errorMessage") or message)
    except ValueError:
        pass
    if not body:
        body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return HandlerOutcome(body, error_type, message, duration)
