"""The function pool: concurrency accounting, throttle decisions, scaling rate, warm environments.

Everything that decides whether an invocation may start now lives here. The
account has a concurrency limit (default 1,000) of which at least 100 always stays unreserved;
a function with reserved concurrency is capped at it (0 throttles everything), the others share
the unreserved pool. Each new execution environment takes a token from the function's scaling
bucket (1,000 environments per 10 s: capacity 1,000, refilled at 100/s, unused capacity does not
accumulate); reusing a warm idle environment takes none. Idle environments are reclaimed after a
keep-warm period. All state is plain ints updated once per batch, so ``ConcurrentExecutions`` is
exact at every instant. Cost: O(1) per admitted batch (plus O(runs) reclaiming idle environments).

A partitioned simulation splits an account's functions over processes; the unreserved pool they
share is then split too: each partition's pool has a ``share`` of it (the shares sum to the
unreserved limit) and admits within its share. An admission the share cuts short (fewer free
than asked) is one a single pool might have decided differently, so it is recorded
(``share_exceeded_at``) and the partitioned run is redone with the account's unreserved functions
in one partition; an admission within its share is exactly what the whole pool would have
admitted, since the other partitions keep within theirs.

Poller interface (event source mappings, ``sources/``) — on :class:`~eventmesh.services.lambda_.function.Function`::

    ok = function.invoke_batch(payload: bytes | LazyEvent, on_done: Callable[[InvokeResult], None],
                               source_arn: str, qualifier: str | None = None) -> bool

``False`` means throttled (no capacity now; counted in ``Throttles``; the caller backs off and
retries). ``True`` means the invocation started; ``on_done`` is called exactly once, from a clock
callback or a runner completion, with an :class:`InvokeResult`: ``payload`` (the function's
response bytes, or its error object), ``function_error`` (``None`` or ``"Unhandled"``),
``error_type`` / ``error_message`` (from the error object), ``status`` (200, or 500 for a system
error), ``executed_version``, ``duration_s`` and ``request_id`` (empty unless one was drawn: ids
cost a random draw, so the pool makes one only when something shows it).
https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import msgspec

from eventmesh.mesh import Mesh
from eventmesh.quotas import Quota, quota_value

__all__ = [
    "CONCURRENT_EXECUTIONS_QUOTA",
    "CONCURRENT_INVOCATION_LIMIT",
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "DEFAULT_KEEP_WARM_S",
    "RESERVED_CONCURRENT_INVOCATION_LIMIT",
    "SCALING_BUCKET_CAPACITY",
    "SCALING_REFILL_PER_S",
    "UNRESERVED_MINIMUM",
    "AccountPool",
    "AccountStatistics",
    "Environments",
    "FunctionConcurrency",
    "InvokeResult",
    "account_pool",
]

# account concurrency
DEFAULT_ACCOUNT_CONCURRENCY = 1_000   # Concurrent executions (quota)
CONCURRENT_EXECUTIONS_QUOTA = Quota("lambda", "Concurrent executions", DEFAULT_ACCOUNT_CONCURRENCY, "L-B99A9384")
UNRESERVED_MINIMUM = 100              # UnreservedConcurrentExecution minimum
# per-function scaling rate: 1,000 environments per 10 s
SCALING_BUCKET_CAPACITY = 1_000
SCALING_REFILL_PER_S = 100.0
# keep-warm period of an idle environment (unspecified by AWS; configurable)
DEFAULT_KEEP_WARM_S = 300.0

# TooManyRequestsException.Reason; an empty scaling bucket reports the account reason
# (which Reason AWS uses there is unverified).
CONCURRENT_INVOCATION_LIMIT = "ConcurrentInvocationLimitExceeded"
RESERVED_CONCURRENT_INVOCATION_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"


class InvokeResult(msgspec.Struct):
    """How one invocation ended, as a poller or a synchronous caller sees it."""

    payload: bytes
    function_error: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    status: int = 200
    executed_version: str = "$LATEST"
    duration_s: float = 0.0
    request_id: str = ""
    log_result: str | None = None


class AccountStatistics(msgspec.Struct, frozen=True):
    """Account-wide Lambda metrics."""

    concurrent_executions: int
    unreserved_concurrent_executions: int
    claimed_account_concurrency: int
    counters: ClassVar[frozenset[str]] = frozenset()


class AccountPool:
    """The account's concurrency: limit, Σ reserved, executions in flight (one per mesh)."""

    metric_namespace = "AWS/Lambda"

    def __init__(self, mesh: Mesh, account_limit: int | None = None,
                 unreserved_minimum: int = UNRESERVED_MINIMUM,
                 keep_warm_s: float = DEFAULT_KEEP_WARM_S) -> None:
        self.account_limit = (quota_value(mesh, CONCURRENT_EXECUTIONS_QUOTA) if account_limit is None
                              else account_limit)
        self.unreserved_minimum = unreserved_minimum
        self.keep_warm_s = keep_warm_s
        self.reserved_total = 0
        self.in_use = 0
        self.unreserved_in_use = 0
        self.share: int | None = None                 # a partition's part of the unreserved pool
        self.share_exceeded_at: float | None = None   # when the share first cut an admission short

    @property
    def unreserved_limit(self) -> int:
        return self.account_limit - self.reserved_total

    def metric_dimensions(self) -> dict[str, str]:
        return {}

    def statistics(self) -> AccountStatistics:
        return AccountStatistics(self.in_use, self.unreserved_in_use,
                                 self.unreserved_in_use + self.reserved_total)


def account_pool(mesh: Mesh) -> AccountPool:
    """The account's Lambda concurrency (account-level state of the mesh: two meshes never share one)."""
    return mesh.state(AccountPool)


class Environments:
    """Idle execution environments of one function version, as runs ``[idle_since, count]``.

    Reuse takes the most recently idled first (a stack); reclaiming drops the runs idle for
    longer than the keep-warm period from the old end. Counts move by whole batches.
    """

    __slots__ = ("_runs", "created", "idle", "keep_warm_s", "on_provisioned", "pinned_busy", "pinned_idle",
                 "provisioned", "spillover")

    def __init__(self, keep_warm_s: float) -> None:
        self._runs: deque[list[Any]] = deque()
        self.idle = 0          # idle environments, provisioned ones included
        self.keep_warm_s = keep_warm_s
        self.created = 0   # cold starts
        # Provisioned concurrency (provisioned.py): environments initialised ahead that never
        # expire, taken before on-demand ones and given back first.
        self.provisioned = 0
        self.pinned_idle = 0
        self.pinned_busy = 0
        self.on_provisioned = 0   # invocations that ran on a provisioned environment
        self.spillover = 0        # invocations of a provisioned version that ran on another

    def provision(self, n: int) -> None:
        """Keep ``n`` provisioned environments (more are initialised; fewer: idle ones go first,
        busy ones become on-demand environments when they finish)."""
        change = n - self.provisioned
        self.provisioned = n
        if change >= 0:
            self.pinned_idle += change
            self.idle += change
            return
        gone = min(self.pinned_idle, -change)
        self.pinned_idle -= gone
        self.idle -= gone
        self.pinned_busy -= -change - gone

    def reuse(self, n: int, now: float) -> int:
        """Take up to ``n`` warm environments (provisioned first); returns how many."""
        if not self.idle:
            return 0
        taken = 0
        if self.pinned_idle:
            taken = min(n, self.pinned_idle)
            self.pinned_idle -= taken
            self.pinned_busy += taken
            self.idle -= taken
            self.on_provisioned += taken
            if taken == n:
                return taken
        runs = self._runs
        expired_before = now - self.keep_warm_s
        while runs and runs[0][0] <= expired_before:
            self.idle -= runs.popleft()[1]
        pinned, taken = taken, 0
        while runs and taken < n - pinned:
            run = runs[-1]
            want = n - pinned - taken
            if run[1] > want:
                run[1] -= want
                taken = n - pinned
            else:
                taken += run[1]
                runs.pop()
        self.idle -= taken
        return pinned + taken

    def release(self, n: int, now: float) -> None:
        if self.pinned_busy:
            back = min(n, self.pinned_busy)
            self.pinned_busy -= back
            self.pinned_idle += back
            self.idle += back
            n -= back
            if not n:
                return
        runs = self._runs
        if runs and runs[-1][0] == now:
            runs[-1][1] += n
        else:
            runs.append([now, n])
        self.idle += n

    def clear(self) -> None:
        """New code: every idle environment is discarded (the next invocations start cold)."""
        self._runs.clear()
        self.idle = self.pinned_idle


class FunctionConcurrency:
    """One function's executions in flight, its reserved cap and its scaling bucket."""

    __slots__ = ("_tokens", "_tokens_at", "account", "concurrent", "provisioned", "reserved", "throttles")

    def __init__(self, account: AccountPool, now: float) -> None:
        self.account = account
        self.reserved: int | None = None
        # Σ provisioned concurrency of the function's versions and aliases: without a reservation
        # it is taken from the unreserved pool, and the first ``provisioned`` executions run on it.
        self.provisioned = 0
        self.concurrent = 0
        self._tokens = float(SCALING_BUCKET_CAPACITY)
        self._tokens_at = now
        self.throttles = 0

    def admit(self, envs: Environments, n: int, now: float) -> tuple[int, int, str | None]:
        """Admit up to ``n`` invocations: returns (warm, cold, reason the rest were throttled).

        Check order: reserved cap or unreserved pool, then the scaling bucket for the
        environments that must be created.
        """
        account = self.account
        provisioned = self.provisioned
        if self.reserved is None:
            free = account.account_limit - account.reserved_total - account.unreserved_in_use
            reason = CONCURRENT_INVOCATION_LIMIT
            if account.share is not None:   # one partition of several (the module docstring)
                free = min(free, account.share - account.unreserved_in_use)
                if free < n and account.share_exceeded_at is None:
                    account.share_exceeded_at = now
            if provisioned > self.concurrent:
                free = max(free, 0) + provisioned - self.concurrent
        else:
            free = self.reserved - self.concurrent
            reason = RESERVED_CONCURRENT_INVOCATION_LIMIT
        if free <= 0:
            return 0, 0, reason
        k = min(n, free)
        pinned_before = envs.pinned_busy
        warm = envs.reuse(k, now) if envs.idle else 0
        cold = k - warm
        if cold:
            tokens = self._tokens + (now - self._tokens_at) * SCALING_REFILL_PER_S
            tokens = min(tokens, SCALING_BUCKET_CAPACITY)
            self._tokens_at = now
            if tokens < cold:
                cold = int(tokens)
                reason = CONCURRENT_INVOCATION_LIMIT
            self._tokens = tokens - cold
            envs.created += cold
        granted = warm + cold
        if envs.provisioned:   # the granted ones not on a provisioned environment spilled over
            envs.spillover += granted - min(granted, envs.pinned_busy - pinned_before)
        before = self.concurrent
        self.concurrent = before + granted
        account.in_use += granted
        if self.reserved is None:
            account.unreserved_in_use += (granted if not provisioned else
                                          max(0, before + granted - provisioned) - max(0, before - provisioned))
        return warm, cold, (None if granted == n else reason)

    def release(self, n: int) -> None:
        before = self.concurrent
        self.concurrent = before - n
        self.account.in_use -= n
        if self.reserved is None:
            provisioned = self.provisioned
            self.account.unreserved_in_use -= (n if not provisioned else
                                               max(0, before - provisioned) - max(0, before - n - provisioned))

    def _unreserved_use(self) -> int:
        """What this function's executions take of the unreserved pool (when it has no reservation)."""
        return max(0, self.concurrent - self.provisioned)

    def set_reserved(self, reserved: int | None) -> None:
        """Move this function between the unreserved pool and its own reservation (which then
        holds its provisioned concurrency)."""
        account = self.account
        if self.reserved is not None:
            account.reserved_total -= self.reserved
        else:
            account.reserved_total -= self.provisioned
            account.unreserved_in_use -= self._unreserved_use()
        self.reserved = reserved
        if reserved is not None:
            account.reserved_total += reserved
        else:
            account.reserved_total += self.provisioned
            account.unreserved_in_use += self._unreserved_use()

    def set_provisioned(self, total: int) -> None:
        """The function's provisioned concurrency, all versions and aliases together."""
        account = self.account
        if self.reserved is None:
            account.reserved_total -= self.provisioned
            account.unreserved_in_use -= self._unreserved_use()
        self.provisioned = total
        if self.reserved is None:
            account.reserved_total += total
            account.unreserved_in_use += self._unreserved_use()
