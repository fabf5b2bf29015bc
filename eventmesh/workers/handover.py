"""Connection affinity: a client connection whose requests keep going to one other worker is
handed to that worker, which then serves them without forwarding.

The kernel gives each connection to a worker without looking at what it will ask for
(``SO_REUSEPORT``), so with N workers a connection's requests are forwarded (N − 1)/N of the time.
Most connections keep to a few resources (a producer to its queue, a consumer to its stream), so
once ``handover_after`` answers in a row came from the same peer (``wire/server.py`` counts
them) and the connection is idle between requests, its socket is passed to that peer
(``SCM_RIGHTS`` over a datagram socketpair made with the channels), which adopts it as an
accepted connection (``HttpServer.handed_in``) and reads the next request from it. Nothing of
that request was read by the sender, so nothing else crosses; the client sees one connection
throughout. A connection that spreads its requests over several workers' resources never gets
a streak long enough and stays where it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from eventmesh.wire.server import HttpServer

__all__ = ["HANDOVER", "Handover"]

log = logging.getLogger("eventmesh.workers")

HANDOVER = b"C"          # the datagram that carries a connection's descriptor
_FDS_PER_DATAGRAM = 1    # one connection per datagram


class Handover:
    """One worker's ends of its handover socketpairs, by peer index."""

    def __init__(self, http: HttpServer, sockets: dict[int, socket.socket]) -> None:
        self.http = http
        self.sockets = sockets
        self.handed_over = 0      # connections this worker passed to a peer
        self.handed_in = 0        # and adopted from one
        for sock in sockets.values():
            sock.setblocking(False)

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Adopt what peers send, and let the door hand connections over."""
        for sock in self.sockets.values():
            loop.add_reader(sock.fileno(), self._receive, loop, sock)
        self.http.hand_over = self.offer

    def offer(self, fd: int, owner: int) -> bool:
        """Send the connection ``fd`` to worker ``owner``; False when it cannot take it now."""
        sock = self.sockets.get(owner)
        if sock is None:
            return False
        try:
            socket.send_fds(sock, [HANDOVER], [fd])
        except (BlockingIOError, InterruptedError):
            return False   # the peer is behind on adopting: keep serving the connection here
        except OSError:
            log.warning("handing a connection to worker %d failed", owner, exc_info=True)
            return False
        self.handed_over += 1
        return True

    def _receive(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(sock, len(HANDOVER), _FDS_PER_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                loop.remove_reader(sock.fileno())   # the peer is gone; its channel says so
                return
            if not fds:
                return
            for fd in fds:
                self._adopt(loop, fd)

    def _adopt(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        try:
            conn = socket.socket(fileno=fd)
        except OSError:
            os.close(fd)
            return
        conn.setblocking(False)
        self.handed_in += 1
        task = loop.create_task(loop.connect_accepted_socket(self.http.handed_in, conn))
        task.add_done_callback(_adopted)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        self.http.hand_over = None
        for sock in self.sockets.values():
            try:
                loop.remove_reader(sock.fileno())
            except (OSError, ValueError):
                pass
            sock.close()


def _adopted(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("adopting a connection from another worker failed: %s", task.exception())

