"""The function pool: Lambda functions, their concurrency, invocation types, retries and destinations.

* ``pool.py``: concurrency accounting, throttle decisions, scaling rate, warm environments; the
  poller interface (``Function.invoke_batch``) is documented there.
* ``function.py``: the Function resource (Invoke, ``accept`` for SNS/EventBridge/destinations).
* ``async_invoke.py``: the asynchronous queue, retries, event age, destinations, DLQ.
* ``control.py``: the control plane (create, publish, aliases, concurrency, EventInvokeConfig).
* ``handlers/``: python / http / model handler kinds; ``runner.py`` and ``workers.py`` run the
  python and http ones outside the engine.
"""

from eventmesh.effects import HandlerOutcome, InvocationJob, RunInvocation
from eventmesh.services.lambda_.function import Function
from eventmesh.services.lambda_.pool import AccountPool, InvokeResult, account_pool
from eventmesh.services.lambda_.service import create_function, find_function

__all__ = ["Function", "InvokeResult", "AccountPool", "account_pool", "create_function", "find_function",
           "RunInvocation", "InvocationJob", "HandlerOutcome"]
