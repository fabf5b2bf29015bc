"""Long polls waiting on one queue: answered by the queue the moment messages become receivable.

ReceiveMessage with ``WaitTimeSeconds`` (or the queue's ReceiveMessageWaitTimeSeconds) returns as
soon as a message is available, else empty when the wait ends.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html

A waiting poll is core state: the queue serves its polls, oldest first, inside the very call that
made messages receivable (a send, a visibility timeout running out, a FIFO group unlocking), so
who gets a message never depends on when some task wakes up. Each poll has one timer, its
deadline, on the mesh clock. The answer goes to the poll's ``waiter`` (anything with ``done()``
and ``set_result(messages)``: the wire adapter passes an asyncio future); a waiter that is done
(its client went away) or gone (a restarted daemon) is dropped before it could take messages.
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

    @property
    def alive(self) -> bool:
        return self.waiter is not None and not self.waiter.done()


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
        return sum(1 for poll in self.waiting if poll.alive)

    def add(self, poll: LongPoll, wait_s: float) -> None:
        self.waiting.append(poll)
        poll.timer = self.clock.call_later(wait_s, lambda: self._expire(poll))

    def serve(self) -> None:
        """Messages became receivable: hand them to the waiting polls, oldest first."""
        waiting = self.waiting
        while waiting:
            poll = waiting[0]
            if not poll.alive:
                waiting.popleft()
                self.clock.cancel(poll.timer)
                continue
            msgs = self.receive(poll)
            if not msgs:
                return
            waiting.popleft()
            self.clock.cancel(poll.timer)
            poll.waiter.set_result(msgs)  # type: ignore[union-attr]

    def _expire(self, poll: LongPoll) -> None:
        """The wait ended with nothing: one NumberOfEmptyReceives, an empty answer."""
        try:
            self.waiting.remove(poll)
        except ValueError:
            return
        if poll.alive:
            self.empty()
            poll.waiter.set_result([])  # type: ignore[union-attr]

    def close(self) -> None:
        """The queue was deleted: every waiting poll ends now (the adapter answers the error)."""
        for poll in self.waiting:
            self.clock.cancel(poll.timer)
            if poll.alive:
                poll.waiter.set_result([])  # type: ignore[union-attr]
        self.waiting.clear()
