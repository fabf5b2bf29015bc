"""Complexity and size budgets: reject a pattern before it can slow matching down.

* Wildcards (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching):
  AWS rejects ``*:*:*:*:*:event-bus/*`` with ``Rule is too complex
  - try using fewer wildcard characters or fewer repeating character sequences after a wildcard
  character`` while accepting ``/Users/*/dir/dir/dir/dir/dir/doc.txt``. The measure used here, like
  event-ruler's MachineComplexityEvaluator, is the largest number of matcher states one input can keep
  alive at once; those two patterns score 12 and 8, so the limit sits between them.
* ``$or`` expansion: every branch becomes a sub-rule; a pattern may not expand past
  MAX_SUB_RULES_PER_PATTERN (a guard against 2^n growth; AWS's own bound is not published).
* Pattern text: EventPattern is at most 4,096 characters in the API (2,048 is the default account
  quota, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html); an SNS FilterPolicy
  at most 256 KB (https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html).
"""

from __future__ import annotations

from eventmesh.patterns._errors import PatternSyntaxError

__all__ = [
    "WILDCARD_MAX_ACTIVE_STATES",
    "MAX_SUB_RULES_PER_PATTERN",
    "EVENT_PATTERN_MAX_CHARS",
    "FILTER_POLICY_MAX_BYTES",
    "TOO_COMPLEX",
    "check_wildcard_complexity",
]

WILDCARD_MAX_ACTIVE_STATES = 10
MAX_SUB_RULES_PER_PATTERN = 1024
EVENT_PATTERN_MAX_CHARS = 4096
FILTER_POLICY_MAX_BYTES = 256 * 1024
TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)
# Reachable state sets explored before a wildcard is declared too complex to analyse.
WILDCARD_MAX_EXPLORED_STATE_SETS = 20_000
_OTHER = "\x00other"


def _active_states_bound(tokens: list[str | None]) -> int:
    """An upper bound of the states one input keeps alive, computed in linear time: the literal run
    before the first ``*`` keeps at most one alive; each ``*`` keeps itself and the start of its run,
    plus the positions of the run whose prefix the input currently ends with, which are the border
    chain of the longest such prefix (KMP failure links)."""
    runs: list[list[str]] = [[]]
    for t in tokens:
        if t is None:
            runs.append([])
        else:
            runs[-1].append(t)
    bound = 1 if runs[0] else 0
    for run in runs[1:]:
        fail = [0] * (len(run) + 1)  # fail[j]: longest proper border of run[:j]
        chain = [0] * (len(run) + 1)
        k = 0
        for j in range(1, len(run)):
            while k and run[j] != run[k]:
                k = fail[k]
            if run[j] == run[k]:
                k += 1
            fail[j + 1] = k
        for j in range(1, len(run)):
            chain[j] = 1 + chain[fail[j]]
        bound += 2 + max(chain, default=0)
    return bound


def check_wildcard_complexity(tokens: list[str | None]) -> None:
    """Raise when some input keeps more than WILDCARD_MAX_ACTIVE_STATES states of the pattern's NFA
    alive at once. Explores reachable state sets breadth-first and stops as soon as one is too big."""
    n = len(tokens)
    if tokens.count(None) <= 1 and n <= WILDCARD_MAX_ACTIVE_STATES:
        return
    if _active_states_bound(tokens) <= WILDCARD_MAX_ACTIVE_STATES:
        return  # the exact search below could only find fewer

    def closure(states: set[int]) -> frozenset[int]:
        stack = list(states)
        while stack:
            s = stack.pop()
            if s < n and tokens[s] is None and s + 1 not in states:
                states.add(s + 1)
                stack.append(s + 1)
        return frozenset(states)

    alphabet = {t for t in tokens if t is not None}
    alphabet.add(_OTHER)
    start = closure({0})
    seen = {start}
    queue = [start]
    while queue:
        current = queue.pop()
        if sum(1 for s in current if s < n) > WILDCARD_MAX_ACTIVE_STATES:
            raise PatternSyntaxError(TOO_COMPLEX)
        for ch in alphabet:
            nxt: set[int] = set()
            for s in current:
                if s < n:
                    t = tokens[s]
                    if t is None:
                        nxt.add(s)
                    elif t == ch:
                        nxt.add(s + 1)
            if nxt:
                state = closure(nxt)
                if state not in seen:
                    if len(seen) >= WILDCARD_MAX_EXPLORED_STATE_SETS:
                        raise PatternSyntaxError(TOO_COMPLEX)
                    seen.add(state)
                    queue.append(state)
