"""SQS service-level operations over a mesh: queues by name, URL and ARN; create/delete rules;
attributes; listing with prefix and pagination; dead-letter sources; tags; permissions.

The queues themselves are mesh resources (``arn:aws:sqs:<region>:<account>:<name>``). A deleted
queue's name is held for 60 seconds in the account's :class:`DeletedQueues`, during which it
cannot be reused (``QueueDeletedRecently``).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-message-identifiers.html
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eventmesh.arn import format_arn
from eventmesh.mesh import Mesh
from eventmesh.services.sqs.attributes import (
    READ_ONLY_ATTRIBUTES,
    SETTABLE_ATTRIBUTES,
    QueueConfig,
    apply_changes,
    config_mismatch,
    parse_attributes,
    render_config,
    validate_queue_name,
)
from eventmesh.services.sqs.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValueException,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from eventmesh.services.sqs.move_tasks import MoveTasks
from eventmesh.services.sqs.queue import Queue

__all__ = [
    "DRAINING",
    "DeletedQueues",
    "end_long_polls",
    "queue_url",
    "parse_queue_url",
    "QUEUE_URL_STYLES",
    "find_queue",
    "queue_from_url",
    "queue_by_name",
    "create_queue",
    "delete_queue",
    "set_queue_attributes",
    "get_queue_attributes",
    "list_queues",
    "list_dead_letter_source_queues",
    "tag_queue",
    "untag_queue",
    "add_permission",
    "remove_permission",
    "DELETED_QUEUE_HOLD_S",
    "MAX_LIST_RESULTS",
]

DELETED_QUEUE_HOLD_S = 60  # a deleted queue's name is held for 60 s
MAX_LIST_RESULTS = 1_000  # ListQueues / ListDeadLetterSourceQueues page
MAX_TAGS = 50  # (recommended maximum; AWS enforces 50 per queue)
POLICY_VERSION = "2008-10-17"  # the policy language version of a Policy that AddPermission creates
DEFAULT_POLICY_ID = "SQSDefaultPolicy"  # its Id: "<queue arn>/SQSDefaultPolicy"


class DeletedQueues:
    """The account's recently deleted queue names (ARN → when), held 60 s against reuse."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.deleted_at: dict[str, float] = {}

    def add(self, arn: str) -> None:
        self.deleted_at[arn] = self.mesh.clock.now()

    def held(self, arn: str) -> bool:
        """Whether ``arn``'s name is still held (forgetting names whose hold has passed)."""
        now = self.mesh.clock.now()
        for old in [a for a, at in self.deleted_at.items() if now >= at + DELETED_QUEUE_HOLD_S]:
            del self.deleted_at[old]
        return arn in self.deleted_at


QUEUE_URL_STYLES = ("path", "host", "account")  # the `queue_urls` setting; "path" is the default


def _host_form_name(host: str) -> tuple[str, str] | None:
    """(name, ``:port`` or "") under which ``host`` can carry ``sqs.<region>.`` in front: a DNS
    name as it is; a loopback address as ``localhost`` (RFC 6761 §6.3: every ``*.localhost`` name
    is loopback); None for any other address literal, which no name prefix can extend."""
    if host.startswith("["):  # an IPv6 literal, [::1]:4566
        literal, _, rest = host[1:].partition("]")
        name, port = literal, rest
    else:
        name, colon, port = host.partition(":")
        port = colon + port
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name, port
    return ("localhost", port) if address.is_loopback else None


def queue_url(host: str, queue: Queue, style: str = "path") -> str:
    """The queue URL as the SDKs expect it, on the daemon's own host, carrying the queue's Region
    (AWS puts it in the host: ``https://sqs.<region>.amazonaws.com/<account>/<name>``):
    ``path`` ``http://<host>/queue/<region>/<account>/<name>``; ``host``
    ``http://sqs.<region>.<host>/<account>/<name>``, AWS's own shape, which tools that parse the
    path as ``/<account>/<name>`` (Terraform's ``aws_sqs_queue``) accept (a loopback address is
    named ``localhost``; any other address literal falls back to ``path``); ``account``
    ``http://<host>/<account>/<name>`` (no Region: the form of earlier versions)."""
    _, _, _, region, account, name = queue.arn.split(":", 5)
    if style == "account":
        return f"http://{host}/{account}/{name}"
    if style == "host":
        named = _host_form_name(host)
        if named is not None:
            return f"http://sqs.{region}.{named[0]}{named[1]}/{account}/{name}"
    return f"http://{host}/queue/{region}/{account}/{name}"


def parse_queue_url(url: str) -> tuple[str | None, str | None, str]:
    """(region, account, name) of a QueueUrl of any host (``sqs.<region>.amazonaws.com``,
    ``queue.amazonaws.com``, the daemon's path, host or account form), or of a bare queue name,
    which AWS takes as QueueUrl too; a part the URL does not carry is None."""
    if "/" not in url:
        return None, None, url
    rest = url.split("://", 1)[-1].rstrip("/")
    host, _, path = rest.partition("/")
    parts = path.split("/")
    region = None
    if len(parts) >= 4 and parts[-4] == "queue":
        region = parts[-3]
    elif host.startswith("sqs.") and host.count(".") >= 2:
        region = host.split(".")[1]
    account = parts[-2] if len(parts) >= 2 else None
    return region, account, parts[-1]


def find_queue(mesh: Mesh, name: str) -> Queue | None:
    return mesh.find(mesh.arn("sqs", name), Queue)


def queue_by_name(mesh: Mesh, name: str, owner_account_id: str | None = None) -> Queue:
    """GetQueueUrl: in the caller's account (another account's queues are not shared here)."""
    queue = find_queue(mesh, name)
    if queue is None or (owner_account_id and owner_account_id != mesh.account_id):
        raise QueueDoesNotExist()
    return queue


def queue_from_url(mesh: Mesh, url: str) -> Queue:
    """Resolve a QueueUrl (see :func:`parse_queue_url`) in the caller's account: its Region is the
    URL's, else the caller's. Another account's queue does not exist for the caller."""
    region, account, name = parse_queue_url(url)
    if account is not None and account != mesh.account_id:
        raise QueueDoesNotExist()
    queue = mesh.find(format_arn("sqs", region or mesh.region, mesh.account_id, name), Queue)
    if queue is None:
        raise QueueDoesNotExist()
    return queue


# The API setting a daemon sets while it shuts down gracefully: long polls do not wait.
DRAINING = "draining"


def end_long_polls(mesh: Mesh) -> None:
    """Every long poll waiting on any queue of the engine answers now, empty, as at the end of
    its wait (a graceful shutdown; the daemon sets ``DRAINING`` so later ones do not wait)."""
    for resource in mesh.all_resources():
        if isinstance(resource, Queue):
            resource.polls.end()


def _check_redrive(mesh: Mesh, queue_name: str, fifo: bool, config: QueueConfig) -> None:
    """RedrivePolicy checks that need the target: it exists, same type, same account, allowed."""
    policy = config.redrive_policy
    if policy is None:
        return
    raw = config.redrive_policy_raw
    target = policy.dead_letter_target_arn

    def bad(reason: str) -> InvalidParameterValueException:
        return InvalidParameterValueException(
            f"Value {raw} for parameter RedrivePolicy is invalid. Reason: {reason}")

    parts = target.split(":")
    if parts[2] != "sqs":
        raise bad("Only SQS queues are valid resources for deadLetterTargetArn.")
    if parts[4] != mesh.account_id or parts[3] != mesh.region:
        raise bad("Dead-letter target owner should be same as the source.")
    dlq = mesh.find(target, Queue)
    if dlq is None:
        raise bad("Dead letter target does not exist.")
    if dlq.fifo != fifo:
        raise bad("Dead-letter queue must be same type of queue as the source..")
    if dlq.name == queue_name:
        raise bad("Dead-letter queue must be a different queue of the same type (standard or FIFO).")
    allow = dlq.config.redrive_allow_policy
    source_arn = mesh.arn("sqs", queue_name)
    if allow is not None and not allow.allows(source_arn):
        raise bad(f"Queue {source_arn} is not allowed to use {target} as its dead-letter queue.")


def create_queue(mesh: Mesh, name: str, attributes: Mapping[str, str] | None = None,
                 tags: Mapping[str, str] | None = None) -> Queue:
    """CreateQueue: idempotent when the name and every given attribute value match an existing
    queue; otherwise ``QueueNameExists``. Within 60 s of a delete: ``QueueDeletedRecently``."""
    attributes = attributes or {}
    fifo_text = str(attributes.get("FifoQueue", "false")).strip().lower()
    fifo = fifo_text == "true"
    if fifo_text not in ("true", "false"):
        raise InvalidAttributeValue("Invalid value for the parameter FifoQueue.")
    validate_queue_name(name, fifo or name.endswith(".fifo"))
    if name.endswith(".fifo") and not fifo:
        raise InvalidParameterValueException(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
    changes = parse_attributes(attributes, fifo=fifo, creating=True)
    arn = mesh.arn("sqs", name)
    if mesh.state(DeletedQueues).held(arn):
        raise QueueDeletedRecently(
            f"You must wait {DELETED_QUEUE_HOLD_S} seconds after deleting a queue before you can create "
            "another with the same name.")
    existing = mesh.find(arn, Queue)
    if existing is not None:
        mismatch = config_mismatch(existing.config, changes)
        if mismatch is not None:
            raise QueueNameExists(
                f"A queue already exists with the same name and a different value for attribute {mismatch}")
        return existing
    config = apply_changes(QueueConfig(fifo_queue=fifo), changes, creating=True)
    _check_redrive(mesh, name, fifo, config)
    _check_tags(tags or {})
    queue = Queue(mesh, name, config, dict(tags or {}))
    mesh.add(queue)
    return queue


def delete_queue(mesh: Mesh, queue: Queue) -> None:
    """DeleteQueue: the queue and its messages go at once; the name is held for 60 s."""
    mesh.remove(queue.arn)
    mesh.state(DeletedQueues).add(queue.arn)
    mesh.state(MoveTasks).forget(queue.arn)


def set_queue_attributes(mesh: Mesh, queue: Queue, attributes: Mapping[str, str]) -> None:
    """SetQueueAttributes: all or nothing; changes take effect at once (AWS: up to 60 s)."""
    changes = parse_attributes(attributes, fifo=queue.fifo, creating=False)
    config = apply_changes(queue.config, changes)
    _check_redrive(mesh, queue.name, queue.fifo, config)
    queue.configure(config)


def get_queue_attributes(queue: Queue, names: Sequence[str] | None) -> dict[str, str]:
    """GetQueueAttributes: the named attributes (``All`` for every one), values as strings;
    unknown names answer ``InvalidAttributeName``."""
    requested = list(names or [])
    for name in requested:
        if name == "All" or name in READ_ONLY_ATTRIBUTES:
            continue
        if name not in SETTABLE_ATTRIBUTES:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    if not requested:
        return {}
    visible, not_visible, delayed = queue.counts()
    everything = {
        "QueueArn": queue.arn,
        "ApproximateNumberOfMessages": str(visible),
        "ApproximateNumberOfMessagesNotVisible": str(not_visible),
        "ApproximateNumberOfMessagesDelayed": str(delayed),
        "CreatedTimestamp": str(int(queue.created)),
        "LastModifiedTimestamp": str(int(queue.last_modified)),
        **render_config(queue.config),
    }
    if "All" in requested:
        return everything
    return {name: everything[name] for name in requested if name in everything}


def _page(items: list[str], max_results: int | None, next_token: str | None) -> tuple[list[str], str | None]:
    """Pagination over a sorted list of names; the token is the last name of the previous page."""
    start = 0
    if next_token:
        try:
            after = json.loads(base64.b64decode(next_token))["after"]
        except (ValueError, KeyError, TypeError):
            raise InvalidParameterValueException("Invalid NextToken value.") from None
        while start < len(items) and items[start] <= after:
            start += 1
    if max_results is None:
        return items[start:start + MAX_LIST_RESULTS], None
    if not 1 <= max_results <= MAX_LIST_RESULTS:
        raise InvalidParameterValueException(
            f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults must be an "
            f"integer between 1 and {MAX_LIST_RESULTS}.")
    page = items[start:start + max_results]
    more = start + max_results < len(items)
    token = base64.b64encode(json.dumps({"after": page[-1]}).encode()).decode() if more and page else None
    return page, token


def _queues(mesh: Mesh) -> Iterable[Queue]:
    return mesh.resources("sqs", Queue)


def list_queues(mesh: Mesh, prefix: str | None = None, max_results: int | None = None,
                next_token: str | None = None) -> tuple[list[Queue], str | None]:
    """ListQueues: names starting with ``prefix``, sorted, up to 1,000 (or MaxResults with NextToken)."""
    by_name = {q.name: q for q in _queues(mesh) if not prefix or q.name.startswith(prefix)}
    names, token = _page(sorted(by_name), max_results, next_token)
    return [by_name[n] for n in names], token


def list_dead_letter_source_queues(mesh: Mesh, dlq: Queue, max_results: int | None = None,
                                   next_token: str | None = None) -> tuple[list[Queue], str | None]:
    """ListDeadLetterSourceQueues: queues whose RedrivePolicy targets ``dlq``."""
    by_name = {q.name: q for q in _queues(mesh) if _dlq_arn_of(q) == dlq.arn}
    names, token = _page(sorted(by_name), max_results, next_token)
    return [by_name[n] for n in names], token


def _check_tags(tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValueException(f"Too many tags added for queue. The maximum is {MAX_TAGS}.")


def tag_queue(queue: Queue, tags: Mapping[str, str]) -> None:
    merged = {**queue.tags, **tags}
    _check_tags(merged)
    queue.tags = merged


def untag_queue(queue: Queue, keys: Iterable[str]) -> None:
    for key in keys:
        queue.tags.pop(key, None)


def _dlq_arn_of(queue: Queue) -> str | None:
    policy = queue.config.redrive_policy
    return policy.dead_letter_target_arn if policy is not None else None


def add_permission(mesh: Mesh, queue: Queue, label: str, accounts: Sequence[str],
                   actions: Sequence[str]) -> None:
    """AddPermission: a statement with Sid ``label`` in the queue's Policy, which AWS creates as
    ``{"Version": "2008-10-17", "Id": "<queue arn>/SQSDefaultPolicy", ...}``; a single principal
    or action is a string, several a list (in the order AWS was recorded to answer them).
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_AddPermission.html"""
    policy: dict[str, Any] = (json.loads(queue.config.policy) if queue.config.policy
                              else {"Version": POLICY_VERSION, "Id": f"{queue.arn}/{DEFAULT_POLICY_ID}",
                                    "Statement": []})
    statements: list[dict[str, Any]] = policy.setdefault("Statement", [])
    if any(s.get("Sid") == label for s in statements):
        raise InvalidParameterValueException(
            f"Value {label} for parameter Label is invalid. Reason: Already exists.")
    principals = [f"arn:aws:iam::{a}:root" for a in reversed(accounts)]
    names = [f"SQS:{a}" for a in reversed(actions)]
    statements.append({
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
        "Action": names[0] if len(names) == 1 else names,
        "Resource": queue.arn,
    })
    queue.configure(apply_changes(queue.config, {"policy": json.dumps(policy, separators=(",", ":"))}))


def remove_permission(mesh: Mesh, queue: Queue, label: str) -> None:
    """RemovePermission: the statement goes; the Policy goes with its last statement."""
    policy = json.loads(queue.config.policy) if queue.config.policy else {"Statement": []}
    statements = policy.get("Statement", [])
    kept = [s for s in statements if s.get("Sid") != label]
    if len(kept) == len(statements):
        raise InvalidParameterValueException(
            f"Value {label} for parameter Label is invalid. Reason: can't find label.")
    policy["Statement"] = kept
    queue.configure(apply_changes(queue.config, {"policy": json.dumps(policy, separators=(",", ":"))
                                                 if kept else None}))
