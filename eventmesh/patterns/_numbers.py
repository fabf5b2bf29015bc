"""Numbers as the two services compare them: one float key per number, so that equal numbers written
differently (``300``, ``300.0``, ``3.0e2``) land on the same key and ranges compare keys.

* EventBridge (event-ruler ComparableNumber): every finite IEEE-754 double is
  comparable; ``300`` and ``3.0e2`` are equal. A pattern number that overflows or underflows a double
  (``2.0e422``, ``1E-325``) cannot be compared: numeric operators reject it, an exact value then only
  matches the same literal text.
* SNS: numbers compare within -1e9..1e9 with 5 digits after the decimal point
  (``100.123456789`` equals ``100.1234567``); policy numbers outside the range are rejected.

Cost: one float() per number; no Decimal on the hot path.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "NumberKey",
    "eventbridge_number",
    "sns_number",
    "SNS_NUMBER_LIMIT",
    "SNS_DECIMAL_DIGITS",
]

# https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html:
# "-10^9 to 10^9 ... five digits of accuracy after
# the decimal point".
SNS_NUMBER_LIMIT = 1_000_000_000
SNS_DECIMAL_DIGITS = 5

# A function from an event number (int or float) or a pattern number's text to its comparable key,
# or None when the number cannot be compared.
NumberKey = Callable[["int | float | str"], "float | None"]


def _nonzero_digits(text: str) -> bool:
    mantissa = text.lower().split("e", 1)[0]
    return any(c in "123456789" for c in mantissa)


def eventbridge_number(value: int | float | str) -> float | None:
    """The comparable key of a number for EventBridge, or None if it is not a finite double."""
    try:
        key = float(value)
    except (OverflowError, ValueError):
        return None
    if math.isinf(key) or math.isnan(key):
        return None
    if key == 0.0 and isinstance(value, str) and _nonzero_digits(value):
        return None  # underflow: 1E-325 is not zero
    return key + 0.0  # -0.0 -> 0.0


def sns_number(value: int | float | str) -> float | None:
    """The comparable key of a number for SNS: rounded to 5 decimals, within +/-1e9."""
    key = eventbridge_number(value)
    if key is None or key > SNS_NUMBER_LIMIT or key < -SNS_NUMBER_LIMIT:
        return None
    return round(key, SNS_DECIMAL_DIGITS) + 0.0
