"""The journal's group commit: what one turn of the event loop appends is one commit, reported
durable once; a rotation puts what came before it in the old segment and the rest in the new.
The writer process: frames in, commits and reports out, whole frames kept when its input ends."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from eventmesh.drivers.persistence import writer
from eventmesh.drivers.persistence.journal import Journal, JournalFailed, read_records, segments
from eventmesh.drivers.persistence.records import Tick


async def _appended_in_one_turn(directory: Path, count: int) -> tuple[Journal, list[int]]:
    loop = asyncio.get_running_loop()
    reported: list[int] = []
    done = asyncio.Event()

    def on_durable(seq: int) -> None:
        reported.append(seq)
        if seq == count - 1:
            done.set()

    journal = Journal(directory, 0, on_durable, loop=loop)
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


def _frames(*frames: tuple[int, int, bytes]) -> bytes:
    return b"".join(writer.FRAME.pack(kind, seq, len(data)) + data for kind, seq, data in frames)


def _serve(directory: Path, sent: bytes, first_seq: int = 0) -> bytes:
    """Run the writer on ``sent`` (then end of input); what it reported."""
    source_r, source_w = os.pipe()
    sink_r, sink_w = os.pipe()
    os.write(source_w, sent)
    os.close(source_w)
    writer.serve(str(directory), first_seq, source_r, sink_w)
    os.close(source_r)
    os.close(sink_w)
    with os.fdopen(sink_r, "rb") as reports:
        return reports.read()


def test_the_writer_commits_frames_reports_each_commit_and_rotates_in_order(tmp_path: Path) -> None:
    reported = _serve(tmp_path, _frames((writer.DATA, 1, b"ab"), (writer.DATA, 2, b"c"), (writer.ROTATE, 3, b""),
                                        (writer.DATA, 3, b"d"), (writer.CLOSE, 0, b""), (writer.DATA, 9, b"lost")))
    values = [writer.REPORT.unpack_from(reported, i)[0] for i in range(0, len(reported), writer.REPORT.size)]
    assert values == [2, 3, writer.CLOSED]   # the two records before the rotation are one commit
    assert {first: path.read_bytes() for first, path in segments(tmp_path)} == {0: b"abc", 3: b"d"}


def test_a_writer_whose_input_ends_commits_the_whole_frames_and_leaves_a_frame_cut_short(tmp_path: Path) -> None:
    whole = _frames((writer.DATA, 0, b"kept"))
    cut = _frames((writer.DATA, 1, b"cut short"))[:-3]   # the daemon died while sending it
    assert _serve(tmp_path, whole + cut) == writer.REPORT.pack(0)
    [(_, path)] = segments(tmp_path)
    assert path.read_bytes() == b"kept"


def test_a_journal_whose_writer_died_refuses_appends(tmp_path: Path) -> None:
    async def scenario() -> Journal:
        journal = Journal(tmp_path, 0, lambda seq: None, loop=asyncio.get_running_loop())
        journal._process.kill()   # as a disk error would end it
        journal._process.wait()
        for _ in range(100):
            if journal.failed:
                break
            await asyncio.sleep(0.01)   # the loop reads the end of the writer's reports
        return journal

    journal = asyncio.run(scenario())
    assert journal.failed
    with pytest.raises(JournalFailed):
        journal.append(Tick(1.0))
    journal.close()
