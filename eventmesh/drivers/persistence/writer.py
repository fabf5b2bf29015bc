"""The journal's writer: a process of its own that makes the daemon's records durable.

The journal (``journal.py``) sends it frames on its standard input; it appends the records of
every frame it has read to the current segment with one ``write`` to a file opened ``O_DSYNC``
(the write returns once the data is on disk), then answers the highest sequence number now
durable on its standard output, 8 bytes. Whatever arrived while a commit was under way is the
next commit: group commit with no timer.

Why a process and not a thread of the daemon: a thread of the daemon needs the daemon's GIL to
start each write and again to report it, and the event loop holds the GIL while it serves; every
commit waited for it twice (up to the switch interval each time), and requests waited with it
(``benchmarks/daemon/bench_sqs_daemon.py --data-dir``, docs/durability.md). This process has its
own interpreter: a commit starts when its frame arrives and is reported when the disk is done.

It reads only the standard library (started with ``-I -S``: no site, no user environment), holds
the data directory's lock (inherited) until it exits, ignores the terminal's interrupt (a Ctrl-C
stops the daemon, which then sends what it still has and closes the pipe), and exits at end of
input, after committing every whole frame read: a daemon killed with -9 leaves no writer behind
for longer than its last commit.

    python -I -S writer.py DIRECTORY FIRST_SEQ
"""

from __future__ import annotations

import os
import signal
import struct
import sys

# A frame: kind (1 byte), a sequence number (8, signed), the length of what follows (4).
FRAME = struct.Struct("<BqI")
DATA = 0      # journal records, up to and including ``seq``
ROTATE = 1    # later records go to a new segment that begins at ``seq``
CLOSE = 2     # commit what came before, answer CLOSED, exit
CLOSED = -2   # the answer to CLOSE: everything sent is durable
REPORT = struct.Struct("<q")
READ_BYTES = 1 << 20
# O_DSYNC: the data and the file size that finds it are on disk when write returns; where there
# is none, each write is followed by fdatasync (or fsync, where that is missing too).
_DSYNC = getattr(os, "O_DSYNC", 0)
_sync = getattr(os, "fdatasync", os.fsync)


def segment_name(first_seq: int) -> str:
    return f"journal-{first_seq:016d}.log"


def open_segment(directory: str, first_seq: int) -> int:
    return os.open(os.path.join(directory, segment_name(first_seq)),
                   os.O_WRONLY | os.O_CREAT | os.O_APPEND | _DSYNC, 0o600)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def commit(fd: int, chunks: list[bytes]) -> None:
    write_all(fd, chunks[0] if len(chunks) == 1 else b"".join(chunks))
    if not _DSYNC:
        _sync(fd)


def serve(directory: str, first_seq: int, source: int, sink: int) -> None:
    """Commit the frames read from ``source``, report on ``sink``, until CLOSE or end of input."""
    fd = open_segment(directory, first_seq)
    pending = bytearray()
    # Read into one buffer kept for the process: os.read would allocate READ_BYTES per call, past
    # malloc's mmap threshold, and so map, shrink and unmap it around every commit (three system
    # calls and a page fault per commit, seen with strace under load).
    buffer = bytearray(READ_BYTES)
    view = memoryview(buffer)
    try:
        while True:
            got = os.readv(source, [buffer])
            ended = not got
            pending += view[:got]
            chunks: list[bytes] = []
            last = -1
            pos = 0
            while len(pending) - pos >= FRAME.size:
                kind, seq, length = FRAME.unpack_from(pending, pos)
                end = pos + FRAME.size + length
                if end > len(pending):
                    break   # the rest of this frame is still on its way
                if kind == DATA:
                    chunks.append(bytes(pending[pos + FRAME.size:end]))
                    last = seq
                    pos = end
                    continue
                pos = end
                if chunks:  # a rotation or the close: what came before goes to the old segment
                    commit(fd, chunks)
                    write_all(sink, REPORT.pack(last))
                    chunks, last = [], -1
                if kind == CLOSE:
                    write_all(sink, REPORT.pack(CLOSED))
                    return
                old, fd = fd, open_segment(directory, seq)
                os.close(old)
            del pending[:pos]
            if chunks:
                commit(fd, chunks)
                if not ended:
                    write_all(sink, REPORT.pack(last))
            if ended:
                return   # the daemon is gone: what it sent whole is on disk, nobody to tell
    finally:
        os.close(fd)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(sys.argv[1], int(sys.argv[2]), sys.stdin.fileno(), sys.stdout.fileno())
    except BrokenPipeError:
        pass   # the daemon stopped listening: it is gone


if __name__ == "__main__":
    main()
