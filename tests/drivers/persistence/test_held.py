"""Responses held until durable (store.py, ``Held``): answered in the same turn the writer's
report arrives, in journal order; a response a callback sends in (a connection's next request)
waits for its own commit; and anything that awaits a held response (HTTP/2) gets it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from eventmesh.drivers.persistence.store import DataDir, Held


def _data_dir(tmp_path: Path, next_seq: int, durable_seq: int) -> DataDir:
    data = DataDir(tmp_path)
    data.journal = SimpleNamespace(next_seq=next_seq, durable_seq=durable_seq)  # type: ignore[assignment]
    return data


def test_a_response_goes_at_once_when_everything_is_durable(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, 5, 4)
    response = (200, [], b"ok")
    assert data.durable(response) is response


def test_held_responses_are_answered_in_the_report_s_own_call_in_journal_order(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, 1, -1)
    answered: list[bytes] = []
    held = []
    for seq, body in ((0, b"a"), (1, b"b"), (2, b"c")):
        data.journal.next_seq = seq + 1   # type: ignore[union-attr]
        one = data.durable((200, [], body))
        assert isinstance(one, Held) and not one.done()
        one.add_done_callback(lambda h: answered.append(h.result()[2]))
        held.append(one)
    data._on_durable(1)                # the writer reports records up to 1 on disk
    assert answered == [b"a", b"b"]    # in this call, not a later turn of the loop
    assert not held[2].done()
    data._on_durable(2)
    assert answered == [b"a", b"b", b"c"]


def test_a_response_held_while_answering_waits_for_its_own_commit(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, 1, -1)
    answered: list[bytes] = []
    later: list[Held] = []

    def answer_then_take_the_next_request(h: Held) -> None:
        answered.append(h.result()[2])
        data.journal.next_seq = 2     # type: ignore[union-attr]   # the next request was journaled
        nxt = data.durable((200, [], b"next"))
        assert isinstance(nxt, Held)
        nxt.add_done_callback(lambda h2: answered.append(h2.result()[2]))
        later.append(nxt)

    first = data.durable((200, [], b"first"))
    assert isinstance(first, Held)
    first.add_done_callback(answer_then_take_the_next_request)
    data._on_durable(0)
    assert answered == [b"first"] and not later[0].done()
    data._on_durable(1)
    assert answered == [b"first", b"next"]


def test_a_held_response_can_be_awaited(tmp_path: Path) -> None:
    async def main() -> object:
        data = _data_dir(tmp_path, 1, -1)
        held = data.durable((200, [], b"x"))
        assert isinstance(held, Held)
        asyncio.get_running_loop().call_soon(data._on_durable, 0)
        return await held

    assert asyncio.run(main()) == (200, [], b"x")
    done = Held((204, [], b""))
    done.resolve()
    assert asyncio.run(_await(done)) == (204, [], b"")


async def _await(held: Held) -> object:
    return await held
