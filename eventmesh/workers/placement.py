"""Which worker owns each resource: the directory every worker keeps, and the placement rules.

Resources fall in two families:

* **spread** — SQS queues, SNS topics (their subscriptions live in them), Kinesis streams (their
  shards and consumers live in them): the data-plane resources a load is spread over. Each is
  placed on creation on the least-loaded worker (fewest resources of its service), decided by its
  *arbiter*, the worker its ARN hashes to, so two workers creating the same name at once agree.
* **home** — everything else (Lambda functions and account concurrency, EventBridge buses, rules,
  connections and API destinations, CloudWatch Logs, SNS SMS and platform applications, IAM): the
  resources whose cores reach each other directly or share account-level state. All of one
  account, in every Region, live on its *home* worker: worker 0 for the daemon's own account,
  else the one the account id hashes to; EventBridge's of every account live on worker 0
  (partner event sources join accounts).

An event source mapping reads its source's core directly (the named exception of the layer
rules), so it lives where its source lives; the directory says where.

The directory maps ARN → worker for every resource any worker added (each worker broadcasts its
``Mesh.add``), and remembers the owner of a deleted ARN (a tombstone), so a name held after a
DeleteQueue is recreated where the hold is. A lookup the directory cannot answer falls back to
the rule above, which every worker computes alike (``ids.stable_hash``: Python's ``hash`` differs
between processes).

:class:`Placement` is the partition layer's :class:`~eventmesh.partition.Ownership` (the link
asks it who owns a delivery's target), with these rules in place of the plain hash of the root.
"""

from __future__ import annotations

from collections import Counter

from eventmesh.ids import stable_hash
from eventmesh.partition import Ownership

__all__ = ["SPREAD_SERVICES", "Placement", "placement_key"]

# The services whose resources are placed one by one (the others live at their account's home).
SPREAD_SERVICES = frozenset({"sqs", "sns", "kinesis"})
_SNS_HOME_RESOURCES = ("app/", "endpoint/", "smssandbox", "phone")   # platform applications, endpoints


def placement_key(arn: str) -> tuple[str, str, str, str]:
    """``(service, region, account, unit)``: ``unit`` is the ARN of the spread resource that
    owns ``arn`` (a subscription's topic, a consumer's stream), or ``""`` for a home resource."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "", "", "", ""
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    if not resource:
        return service, region, account, ""   # the account-and-Region itself: its home
    if service == "sqs":
        return service, region, account, arn
    if service == "sns":
        if resource.startswith(_SNS_HOME_RESOURCES):
            return service, region, account, ""
        return service, region, account, ":".join(parts[:5] + [resource.split(":", 1)[0]])
    if service == "kinesis" and resource.startswith("stream/"):
        stream = resource.split("/", 2)[1]
        return service, region, account, ":".join(parts[:5] + [f"stream/{stream}"])
    return service, region, account, ""


class Placement(Ownership):
    """The directory of one worker (``index`` of ``count``) and the placement rules."""

    def __init__(self, index: int, count: int, default_account: str = "") -> None:
        super().__init__(count)
        self.default_account = default_account
        self.index = index
        self.count = count
        self._owners: dict[str, int] = {}      # ARN (a unit or a home resource) -> worker
        self._counted: dict[str, int] = {}     # the live (or reserved) ones among them
        self._load: Counter[tuple[str, int]] = Counter()   # (service, worker) -> live resources

    # -- the rules -------------------------------------------------------------------------

    def home(self, account: str, region: str, service: str = "") -> int:
        """The worker of an account's home resources, in every Region (a Lambda function's logs,
        its cross-Region destinations): worker 0 for the daemon's own account, else the one the
        account id hashes to. EventBridge has one home for all accounts, worker 0's: a partner
        event source joins two accounts, a global endpoint two Regions."""
        if service == "events" or account == self.default_account:
            return 0
        return stable_hash(account) % self.count

    def arbiter(self, unit: str) -> int:
        """The worker that decides where the spread resource ``unit`` goes."""
        return stable_hash(unit) % self.count

    def choose(self, unit: str) -> int:
        """Where a new spread resource goes: the worker with the fewest of its service (ties:
        its arbiter, then the lowest index). Called on the arbiter, which records the choice."""
        service = unit.split(":", 3)[2]
        arbiter = self.arbiter(unit)
        best = min(range(self.count), key=lambda w: (self._load[(service, w)], w != arbiter, w))
        self.record(unit, best)
        return best

    # -- lookups ---------------------------------------------------------------------------

    def owner(self, arn: str) -> int:
        """The worker that owns ``arn`` (or would create it: its arbiter or its home)."""
        found = self._owners.get(arn)
        if found is not None:
            return found
        service, region, account, unit = placement_key(arn)
        if unit:
            found = self._owners.get(unit)
            return found if found is not None else self.arbiter(unit)
        return self.home(account, region, service)

    def known(self, arn: str) -> int | None:
        """The directory's answer alone (None: never placed)."""
        found = self._owners.get(arn)
        if found is None:
            unit = placement_key(arn)[3]
            if unit:
                found = self._owners.get(unit)
        return found

    def spread(self, arn: str) -> str:
        """The unit of a spread resource (``""`` for a home resource)."""
        return placement_key(arn)[3]

    # -- the directory ---------------------------------------------------------------------

    def record(self, arn: str, owner: int) -> None:
        """``arn`` lives (or, reserved by its arbiter, is about to live) on ``owner``."""
        service = arn.split(":", 3)[2] if arn.count(":") >= 3 else ""
        counted = self._counted.get(arn)
        if counted is not None:
            self._load[(service, counted)] -= 1
        self._owners[arn] = self._counted[arn] = owner
        self._load[(service, owner)] += 1

    def forget(self, arn: str, owner: int) -> None:
        """``owner`` removed ``arn``: the ARN stays placed there (a tombstone), no longer counted.
        A removal by a worker the directory no longer names (the resource moved) changes nothing."""
        if self._counted.get(arn) != owner:
            return
        del self._counted[arn]
        self._load[(arn.split(":", 3)[2], owner)] -= 1

    def load(self, service: str) -> list[int]:
        """Live resources of ``service`` per worker (the balance ``choose`` keeps)."""
        return [self._load[(service, w)] for w in range(self.count)]
