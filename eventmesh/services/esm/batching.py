"""Batching rules shared by the pollers.

An invocation leaves when ``BatchSize`` records are gathered, when the batching window runs out,
or when one more record would push the payload past the 6 MB synchronous invoke limit.
Payload sizes are estimated from the record sizes before encoding (base64 grows data by 4/3;
each record carries a fixed envelope), so a batch is encoded once and never re-cut.
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html
"""

from __future__ import annotations

__all__ = [
    "EVENT_ENVELOPE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "SQS_RECORD_OVERHEAD_BYTES",
    "KINESIS_RECORD_OVERHEAD_BYTES",
    "cut_by_payload",
]

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024        # synchronous invoke payload limit, metadata included
EVENT_ENVELOPE_BYTES = 16                  # {"Records":[ ... ]}
# Envelope of one record without its variable parts (ids, body/data, key): measured on the
# encoded shapes of records.py with a generous margin for ARNs and attribute names.
SQS_RECORD_OVERHEAD_BYTES = 1_024
KINESIS_RECORD_OVERHEAD_BYTES = 640


def cut_by_payload(sizes: list[int], overhead: int, limit: int = MAX_PAYLOAD_BYTES) -> int:
    """How many of the leading records fit in one payload (at least one): ``sizes`` are each
    record's variable bytes as encoded, ``overhead`` the fixed bytes per record."""
    if EVENT_ENVELOPE_BYTES + sum(sizes) + overhead * len(sizes) <= limit:
        return len(sizes)   # the common case, without a Python loop over the records
    total = EVENT_ENVELOPE_BYTES
    for n, size in enumerate(sizes):
        total += size + overhead
        if total > limit:
            return max(n, 1)
    return len(sizes)
