"""Long polls waiting on one queue: answered by the queue the moment messages become receivable.

ReceiveMessage with ``WaitTimeSeconds`` (or the queue's ReceiveMessageWaitTimeSeconds) returns as
soon as a message is available, else empty when the wait ends.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html

A waiting poll is core state: the queue serves its polls, oldest first, inside the very call that
made messages receivable (a send, a visibility timeout running out, a FIFO group unlocking), so
who gets a message never depends on when some task wakes up. Each poll has one timer, its
deadline, on the mesh clock. The answer goes to the poll's ``waiter`` (anything with ``done()``
and ``set_result(messages)``: the wire adapter passes an asyncio future). A poll waits until it
is answered or its wait ends whatever happens to its connection, as on AWS (whose service does
not see the client go either): messages it takes after its client left stay in flight until
their visibility timeout. So which poll takes which message depends on engine inputs alone,
and a journal replays it exactly; a waiter gone with a restarted daemon (``None``) answers no
one, and a restart ends the polls of the previous process (``end``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from eventmesh.clock import Clock
from eventmesh.services.sqs.message import Message
from eventmesh.timers import Timer

__all__ = ["LongPoll", "Polls", "Waiter"]


class Waiter(Protocol):
    def done(self) -> bool: ...

    def set_result(self, result: list[Message]) -> None: ...


class LongPoll:
    """One waiting ReceiveMessage: what it asks for, until when, and who hears the answer."""

    __slots__ = ("attempt_id", "count", "timer", "visibility_timeout", "waiter")

    def __init__(self, count: int, visibility_timeout: int | None, attempt_id: str | None,
                 waiter: Waiter | None) -> None:
        self.count = count
        self.visibility_timeout = visibility_timeout
        self.attempt_id = attempt_id
        self.waiter = waiter
        self.timer: Timer | None = None

    def answer(self, msgs: list[Message]) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(msgs)


class Polls:
    """The waiting polls of one queue, oldest first. ``receive(poll)`` is the queue's receive for
    a poll (leases messages, or answers none); ``empty()`` counts an empty receive."""

    __slots__ = ("clock", "empty", "receive", "waiting")

    def __init__(self, clock: Clock, receive: Callable[[LongPoll], list[Message]],
                 empty: Callable[[], None]) -> None:
        self.clock = clock
        self.receive = receive
        self.empty = empty
        self.waiting: deque[LongPoll] = deque()

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, poll: LongPoll, wait_s: float) -> None:
        self.waiting.append(poll)
        poll.timer = self.clock.call_later(wait_s, lambda: self._expire(poll))

    def serve(self) -> None:
        """Messages became receivable: hand them to the waiting polls, oldest first."""
        waiting = self.waiting
        while waiting:
            poll = waiting[0]
            msgs = self.receive(poll)
            if not msgs:
                return
            waiting.popleft()
            self.clock.cancel(poll.timer)
            poll.answer(msgs)

    def _expire(self, poll: LongPoll) -> None:
        """The wait ended with nothing: one NumberOfEmptyReceives, an empty answer."""
        try:
            self.waiting.remove(poll)
        except ValueError:
            return
        self.empty()
        poll.answer([])

    def end(self) -> None:
        """Every waiting poll answers now as at the end of its wait: empty (a daemon shutting
        down gracefully answers its long polls at once)."""
        waiting, self.waiting = self.waiting, deque()
        for poll in waiting:
            self.clock.cancel(poll.timer)
            self.empty()
            poll.answer([])

    def close(self) -> None:
        """The queue was deleted: every waiting poll ends now (the adapter answers the error)."""
        for poll in self.waiting:
            self.clock.cancel(poll.timer)
            poll.answer([])
        self.waiting.clear()
