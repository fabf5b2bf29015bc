"""The 6 MB cut of a batch (batching.py): a batch that fits goes whole, one that does not is cut
after the last record that fits, and a record alone over the limit still goes (alone)."""

from __future__ import annotations

from eventmesh.services.esm.batching import EVENT_ENVELOPE_BYTES, cut_by_payload


def test_a_batch_that_fits_goes_whole_up_to_the_last_byte() -> None:
    limit = EVENT_ENVELOPE_BYTES + 4 * (100 + 10)
    assert cut_by_payload([100] * 4, 10, limit) == 4
    assert cut_by_payload([100, 100, 100, 101], 10, limit) == 3   # one byte over: the last waits


def test_a_batch_over_the_limit_is_cut_after_the_last_record_that_fits() -> None:
    assert cut_by_payload([1_000_000] * 10, 1_024) == 6          # 6 MB: six of a million bytes fit
    assert cut_by_payload([10, 7_000_000, 10], 1_024) == 1
    assert cut_by_payload([7_000_000, 10], 1_024) == 1            # alone over the limit: still sent
    assert cut_by_payload([], 1_024) == 0
