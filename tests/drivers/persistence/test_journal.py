"""The journal's group commit: what one turn of the event loop appends is one commit, reported
durable once; a rotation puts what came before it in the old segment and the rest in the new."""

from __future__ import annotations

import asyncio
from pathlib import Path

from eventmesh.drivers.persistence.journal import Journal, read_records, segments
from eventmesh.drivers.persistence.records import Tick


async def _appended_in_one_turn(directory: Path, count: int) -> tuple[Journal, list[int]]:
    loop = asyncio.get_running_loop()
    reported: list[int] = []
    done = asyncio.Event()

    def on_durable(seq: int) -> None:
        reported.append(seq)
        if seq == count - 1:
            done.set()

    journal = Journal(directory, 0, on_durable, loop.call_soon_threadsafe, loop.call_soon)
    seqs = [journal.append(Tick(float(i))) for i in range(count)]   # one turn: nothing yielded
    assert journal.durable_seq == -1   # nothing is durable before the turn ends
    await asyncio.wait_for(done.wait(), 10)
    assert seqs == list(range(count))
    return journal, reported


def test_the_records_of_one_loop_turn_are_one_commit(tmp_path: Path) -> None:
    journal, reported = asyncio.run(_appended_in_one_turn(tmp_path, 25))
    journal.close()
    assert reported == [24]
    assert journal.batches_written == 1
    assert journal.durable_seq == 24
    [(first, path)] = segments(tmp_path)
    assert [(seq, record.at) for seq, record in read_records(path, first)] == [(i, float(i)) for i in range(25)]


def test_a_rotation_splits_the_records_between_segments_in_order(tmp_path: Path) -> None:
    reported: list[int] = []
    journal = Journal(tmp_path, 0, reported.append, lambda callback, seq: callback(seq))
    for i in range(3):
        journal.append(Tick(float(i)))
    assert journal.rotate() == 3
    for i in range(3, 5):
        journal.append(Tick(float(i)))
    journal.close()
    found = {first: [(seq, record.at) for seq, record in read_records(path, first)]
             for first, path in segments(tmp_path)}
    assert found == {0: [(0, 0.0), (1, 1.0), (2, 2.0)], 3: [(3, 3.0), (4, 4.0)]}
    assert reported[-1] == 4 and reported == sorted(reported)
