"""What a worker needs of resources another worker owns, when a core reads them directly.

* **A mapping's function.** An event source mapping lives with its source (its poller reads the
  queue or shard in place); its function lives at its account's home. Where those differ, the
  mapping's worker holds a stand-in (``esm.invoke.RemoteFunctions``): the poller's
  ``invoke_batch`` becomes an ``fn.invoke`` question to the home, which invokes the function
  (its concurrency, retries and logs stay there) and answers with the ``InvokeResult`` or
  ``THROTTLED``; the function's timeout and role, which the poller reads, come with every
  answer. Create/UpdateEventSourceMapping first fetch them (``fn.facts``), so the checks a
  single daemon makes (the function exists, the queue's visibility timeout is not shorter than
  the function's) are made with the function's current settings.
* **An SNS platform endpoint.** ``Subscribe`` with protocol ``application`` checks the endpoint
  exists; endpoints live at the home, topics anywhere: the topic's worker asks first.

These questions are timed (they carry the asker's virtual time and count for ``vclock``'s quiet),
so an invocation across workers happens at the virtual times it would in one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

import msgspec

from eventmesh.services.esm.invoke import THROTTLED, RemoteFunctions
from eventmesh.services.esm.service import _function_arn
from eventmesh.services.lambda_.jobs import LazyEvent
from eventmesh.services.lambda_.pool import InvokeResult
from eventmesh.services.sns.platform import PlatformRegistry
from eventmesh.workers.node import Node

__all__ = ["RemoteFunction", "install"]


def _facts(function: Any) -> list[Any]:
    latest = function.latest
    return [float(latest.timeout_s), str(latest.config.role)]


class RemoteFunction:
    """A function another worker runs, as a poller sees it (see the module docstring)."""

    def __init__(self, node: Node, owner: int, arn: str, facts: list[Any]) -> None:
        self.node = node
        self.owner = owner
        self.arn = arn
        self.latest = SimpleNamespace(timeout_s=0.0, config=SimpleNamespace(role=""))
        self.refresh(facts)

    def refresh(self, facts: list[Any]) -> None:
        self.latest.timeout_s, self.latest.config.role = facts

    def invoke_batch(self, payload: bytes | LazyEvent, on_done: Any, source_arn: str,
                     qualifier: str | None = None) -> bool:
        if isinstance(payload, LazyEvent):
            payload = payload.data()   # it crosses to the function's worker as bytes
        answer = self.node.ask(self.owner, "fn.invoke", [self.arn, payload, source_arn, qualifier], timed=True)
        answer.add_done_callback(lambda done: self._answered(done, on_done))
        return True

    def _answered(self, done: asyncio.Future[Any], on_done: Any) -> None:
        value = None if done.cancelled() or done.exception() is not None else done.result()
        if value is None:   # the function is gone (or its worker): back off as for a throttle
            on_done(THROTTLED)
        else:
            outcome, result, facts = value
            self.refresh(facts)
            on_done(THROTTLED if outcome == "throttled" else msgspec.convert(result, InvokeResult))
        self.node.mesh.flush()


def install(daemon: Any) -> None:
    node: Node = daemon.node
    mesh = daemon.mesh
    stand_ins = mesh.root.state(RemoteFunctions).stand_ins

    def invoke(args: list[Any]) -> Any:
        arn, payload, source_arn, qualifier = args
        function = mesh.find(arn, object)
        if function is None:
            return None
        answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_done(result: Any) -> None:
            if not answered.done():
                answered.set_result(["done", msgspec.to_builtins(result), _facts(function)])

        started = function.invoke_batch(payload, on_done, source_arn, qualifier)
        mesh.flush()
        return answered if started else ["throttled", None, _facts(function)]

    def facts(args: list[Any]) -> Any:
        function = mesh.find(args[0], object)
        return _facts(function) if function is not None and hasattr(function, "latest") else None

    def endpoint_exists(args: list[Any]) -> bool:
        arn, account, region = args
        return arn in mesh.scope(account, region).state(PlatformRegistry).endpoints

    node.asks["fn.invoke"] = invoke
    node.asks["fn.facts"] = facts
    node.asks["sns.endpoint"] = endpoint_exists

    def mapping_function(params: Any, account: str, region: str) -> Awaitable[None] | None:
        name = params.get("FunctionName") if isinstance(params, dict) else None
        if not isinstance(name, str) or not name:
            return None
        try:
            arn = ":".join(_function_arn(mesh.scope(account, region), name).split(":")[:7])
        except Exception:   # the handler words a bad name
            return None
        owner = node.placement.owner(arn)
        if owner == node.index:
            return None

        async def fetch() -> None:
            found = await node.ask(owner, "fn.facts", [arn], timed=True)
            if found is None:
                stand_ins.pop(arn, None)
            elif arn in stand_ins:
                stand_ins[arn].refresh(found)
            else:
                stand_ins[arn] = RemoteFunction(node, owner, arn, found)
        return fetch()

    def application_endpoint(params: Any, account: str, region: str) -> Awaitable[None] | None:
        if not isinstance(params, dict) or params.get("Protocol") != "application":
            return None
        endpoint, topic = params.get("Endpoint"), params.get("TopicArn")
        if not isinstance(endpoint, str) or not isinstance(topic, str) or topic.count(":") < 5:
            return None
        _, _, _, topic_region, topic_account, _ = topic.split(":", 5)
        owner = node.placement.owner(f"arn:aws:sns:{topic_region}:{topic_account}:")
        if owner == node.index:
            return None

        async def check() -> None:
            exists = await node.ask(owner, "sns.endpoint", [endpoint, topic_account, topic_region], timed=True)
            registry = mesh.scope(topic_account, topic_region).state(PlatformRegistry)
            if exists:   # what the topic's check reads: the endpoint is there (it lives at the home)
                registry.endpoints.setdefault(endpoint, SimpleNamespace(arn=endpoint, application_arn=""))
            else:
                registry.endpoints.pop(endpoint, None)
        return check()

    node.before[("lambda", "CreateEventSourceMapping")] = mapping_function
    node.before[("lambda", "UpdateEventSourceMapping")] = mapping_function
    node.before[("sns", "Subscribe")] = application_endpoint
