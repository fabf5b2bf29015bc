"""List operations across workers: every worker's part, merged as one worker would list them.

The worker a client asks runs the list operation's own handler on its part and asks every peer
for theirs (``list.part``), then merges, keeping AWS's pagination as the single daemon serves it:

==========================  ==============================================================
ListQueues, ListStreams     sorted by name, the token names the last one listed: each worker
                            lists its page after the same name, the merge keeps the first
                            page of the union and names its last
ListTopics,                 in creation order with a token that counts: each worker lists all
ListSubscriptions,          of its own with when they were created (``Node.created``), the
ListEventSourceMappings     merge sorts by that and pages with the service's own paging
DescribeLimits (Kinesis)    the shard and on-demand stream counts summed
==========================  ==============================================================

Operations that name their resource (ListSubscriptionsByTopic, ListEventSourceMappings with an
``EventSourceArn``) are not merged: they go to its owner. Lambda, EventBridge and Logs lists
need no merge: an account-and-Region's functions, buses and log groups live on its home.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import sys
from collections.abc import Callable
from typing import Any

import msgspec

from eventmesh.services.esm import service as esm
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.api import _listed
from eventmesh.services.sns.topic import Topic
from eventmesh.services.sqs import service as sqs_service
from eventmesh.wire.service import Deferred, RequestContext

__all__ = ["install"]

Part = Callable[[RequestContext, dict[str, Any]], Any]
Merge = Callable[[RequestContext, dict[str, Any], list[Any]], dict[str, Any]]


def _plain(value: Any) -> Any:
    """A part as the channels carry it (timestamps stay datetimes: CBOR answers need them)."""
    return msgspec.to_builtins(value, builtin_types=(bytes, datetime.datetime))


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# -- sorted by name ------------------------------------------------------------------------

def _merge_queues(ctx: RequestContext, params: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    urls = sorted({url for part in parts for url in part.get("QueueUrls", ())}, key=_name)
    limit = params.get("MaxResults")
    out: dict[str, Any] = {}
    if limit is None:   # AWS: up to 1,000, and no token
        page = urls[:sqs_service.MAX_LIST_RESULTS]
    else:
        page = urls[:limit]
        if page and (len(urls) > limit or any(part.get("NextToken") for part in parts)):
            # the service's own token: the last name listed (sqs.service._page)
            out["NextToken"] = base64.b64encode(json.dumps({"after": _name(page[-1])}).encode()).decode()
    if page:
        out["QueueUrls"] = page
    return out


def _merge_streams(ctx: RequestContext, params: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    summaries = sorted((s for part in parts for s in part["StreamSummaries"]), key=lambda s: s["StreamName"])
    limit = params.get("Limit") or 100
    page = summaries[:limit]
    more = len(summaries) > limit or any(part["HasMoreStreams"] for part in parts)
    out: dict[str, Any] = {"StreamNames": [s["StreamName"] for s in page], "HasMoreStreams": more,
                           "StreamSummaries": page}
    if more and page:
        out["NextToken"] = base64.urlsafe_b64encode(page[-1]["StreamName"].encode()).decode()
    return out


def _merge_limits(ctx: RequestContext, params: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    out = dict(parts[0])
    out["OpenShardCount"] = sum(part["OpenShardCount"] for part in parts)
    out["OnDemandStreamCount"] = sum(part["OnDemandStreamCount"] for part in parts)
    return out


# -- in creation order ---------------------------------------------------------------------

def _topics_part(node: Any) -> Part:
    def part(ctx: RequestContext, params: dict[str, Any]) -> list[Any]:
        return [[node.created.get(t.arn, 0), t.arn] for t in ctx.mesh.resources("sns", Topic)]
    return part


def _merge_topics(ctx: RequestContext, params: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    arns = [arn for _, arn in sorted(item for part in parts for item in part)]
    start, end = sns_service._page(params.get("NextToken"), len(arns))
    token = sns_service._next(end, len(arns))
    return {"Topics": [{"TopicArn": arn} for arn in arns[start:end]], **({"NextToken": token} if token else {})}


def _subscriptions_part(node: Any) -> Part:
    def part(ctx: RequestContext, params: dict[str, Any]) -> list[Any]:
        return [[node.created.get(t.arn, 0), t.arn, i, _listed(sub)]
                for t in ctx.mesh.resources("sns", Topic) for i, sub in enumerate(t.subscriptions)]
    return part


def _merge_subscriptions(ctx: RequestContext, params: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    subs = [listed for *_, listed in sorted((item for part in parts for item in part), key=lambda i: i[:3])]
    start, end = sns_service._page(params.get("NextToken"), len(subs))
    token = sns_service._next(end, len(subs))
    return {"Subscriptions": subs[start:end], **({"NextToken": token} if token else {})}


def _mappings_part(node: Any) -> Part:
    def part(ctx: RequestContext, params: dict[str, Any]) -> list[Any]:
        page, _ = esm.list_mappings(ctx.mesh, function_name=params.get("FunctionName"), max_items=sys.maxsize)
        return [[node.created.get(m.arn, 0), m.uuid, msgspec.to_builtins(m.document())] for m in page]
    return part


def _merge_mappings(ctx: RequestContext, params: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    items = sorted(item for part in parts for item in part)
    uuids = [uuid for _, uuid, _ in items]
    marker = params.get("Marker")
    start = (uuids.index(marker) if marker in uuids else len(uuids)) if marker else 0   # esm.list_mappings
    size = params.get("MaxItems") or esm.DEFAULT_LIST_MAX_ITEMS
    out: dict[str, Any] = {"EventSourceMappings": [doc for _, _, doc in items[start:start + size]]}
    if start + size < len(items):
        out["NextMarker"] = uuids[start + size]
    return out


def install(daemon: Any) -> None:
    """Merge the list operations of ``daemon``'s Api across its workers."""
    node, api = daemon.node, daemon.api
    merges: dict[tuple[str, str], tuple[Part | None, Merge]] = {
        ("sqs", "ListQueues"): (None, _merge_queues),
        ("kinesis", "ListStreams"): (None, _merge_streams),
        ("kinesis", "DescribeLimits"): (None, _merge_limits),
        ("sns", "ListTopics"): (_topics_part(node), _merge_topics),
        ("sns", "ListSubscriptions"): (_subscriptions_part(node), _merge_subscriptions),
        ("lambda", "ListEventSourceMappings"): (_mappings_part(node), _merge_mappings),
    }
    parts: dict[tuple[str, str], Part] = {}
    for (name, operation), (part, merge) in merges.items():
        bound = api.services.get(name)
        if bound is None or operation not in bound.service.handlers:
            continue
        # This Api's own copy of the service: the adapters' Service objects are shared by every
        # daemon in the process (a test runs single daemons beside a group).
        if not getattr(bound.service, "_worker_copy", False):
            bound.service = copy.copy(bound.service)
            bound.service.handlers = dict(bound.service.handlers)
            bound.service._worker_copy = True  # type: ignore[attr-defined]
        own = part or bound.service.handlers[operation]
        parts[(name, operation)] = own
        bound.service.handlers[operation] = _merged(node, name, operation, own, merge)

    def answer_part(args: list[Any]) -> Any:
        name, operation, account, region, host, protocol, params = args
        bound = api.services[name]
        ctx = RequestContext(api.mesh.scope(account, region), host=host, protocol=protocol, settings=api.settings,
                             waiters=api.waiters, operation=operation, service=bound.service)
        return _plain(parts[(name, operation)](ctx, params))

    node.asks["list.part"] = answer_part


def _merged(node: Any, name: str, operation: str, part: Part, merge: Merge) -> Callable[..., Deferred]:
    def handler(ctx: RequestContext, params: dict[str, Any]) -> Deferred:
        own = _plain(part(ctx, params))   # raises first what a single daemon raises
        answers = node.ask_all("list.part", [name, operation, ctx.account_id, ctx.region, ctx.host,
                                             ctx.protocol, params])
        return Deferred(answers, lambda parts: merge(ctx, params, [own, *parts.values()]))
    return handler
