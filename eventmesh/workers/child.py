"""``python -m eventmesh.workers.child``: the entry of workers 1..N-1.

The parent writes the worker's spec and the numbers of the file descriptors it passed (the
channels to the other workers and the sockets connections are handed over on, the shared
listening socket where ``SO_REUSEPORT`` does not balance, the status pipe) to the child's
stdin, pickled. A fresh interpreter, not a fork: no thread, lock or event loop of the parent
comes along, and the parent's ``__main__`` is not re-run (as ``multiprocessing``'s spawn would).
"""

from __future__ import annotations

import pickle
import socket
import sys

from eventmesh.workers.worker import child_main


def main() -> None:
    spec, peer_fds, listen_fd, status_fd, handover_fds = pickle.loads(sys.stdin.buffer.read())
    peers = {int(peer): socket.socket(fileno=fd) for peer, fd in peer_fds.items()}
    listen = socket.socket(fileno=listen_fd) if listen_fd is not None else None
    handovers = {int(peer): socket.socket(fileno=fd) for peer, fd in handover_fds.items()}
    child_main(spec, peers, listen, status_fd, handovers)


if __name__ == "__main__":
    main()
