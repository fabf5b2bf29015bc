"""Tumbling windows for stream mappings.

Everything that decides which records share a window and what the function sees of it lives
here. Windows are aligned on record arrival time (``start = ⌊arrival / W⌋ · W``); a batch holds
records of one window only; the function's returned ``state`` is passed to the next invocation of
the same window (per lane: records with one partition key always share a lane); when the window
has ended — a record of a later window is next, or its end passed on the clock — a final
invocation with ``isFinalInvokeForWindow: true`` and no records is made, and after it succeeds the
state is dropped. A response without ``state`` fails the batch (retried like any failure).
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["next_batch", "take_state", "with_window"]

_decode = msgspec.json.Decoder()


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_batch(poller: Any, reader: Any, lane: Any, batch_type: Any) -> Any | None:
    """The lane's next batch under windows: the previous window's final invocation, or up to
    BatchSize pending records of the current window (arming the window-end timer)."""
    m = poller.mapping
    width = m.tumbling_window_s
    pending = lane.pending
    now = poller.clock.now()
    if lane.window_start is not None:
        end = lane.window_start + width
        if (pending and pending[0].approximate_arrival_at >= end) or (not pending and now >= end):
            return batch_type([], window=lane.window_start, final=True)
    if not pending:
        return None
    start = pending[0].approximate_arrival_at // width * width
    end = start + width
    n = 0
    limit = min(m.batch_size, len(pending))
    while n < limit and pending[n].approximate_arrival_at < end:
        n += 1
    records = pending[:n]
    del pending[:n]
    lane.window_start = start
    if lane.window_timer is None:
        lane.window_timer = poller.clock.call_at(end, lambda: poller.on_window_end(reader, lane))
    return batch_type(records, window=start)


def with_window(payload: bytes, poller: Any, reader: Any, lane: Any, batch: Any) -> bytes:
    """Add the window members to an encoded ``{"Records": [...]}`` event."""
    extra = (b',"window":{"start":"' + _iso(batch.window).encode() + b'","end":"'
             + _iso(batch.window + poller.mapping.tumbling_window_s).encode() + b'"},"state":' + lane.state
             + b',"shardId":"' + reader.shard.shard_id.encode() + b'","eventSourceARN":'
             + msgspec.json.encode(poller.stream.arn) + b',"isFinalInvokeForWindow":'
             + (b"true" if batch.final else b"false") + b',"isWindowTerminatedEarly":false}')
    return payload[:-1] + extra


def take_state(lane: Any, batch: Any, response: bytes) -> bool:
    """Keep the returned ``state``; False when the response has none. A successful final
    invocation closes the window."""
    try:
        document = _decode.decode(response or b"null")
    except msgspec.DecodeError:
        return False
    if not isinstance(document, dict) or "state" not in document:
        return False
    if batch.final:
        lane.window_start = None
        lane.state = b"{}"
    else:
        lane.state = msgspec.json.encode(document["state"])
    return True
