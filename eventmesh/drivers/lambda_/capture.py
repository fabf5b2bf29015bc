"""What a function's process writes (stdout and stderr, print, logging, native code, child
processes), collected in a file the process appends to and read between invocations.

The process's file descriptors 1 and 2 are one ``O_APPEND`` file; the parent reads what is new
after each invocation (one ``lseek`` and at most one ``pread``, never a task or a read per
line) and empties the file once it has grown past ``COMPACT_BYTES``. Because it is a file and
not a pipe, what a process wrote before it was killed (a timeout, memory exhausted) is kept.
"""

from __future__ import annotations

import os
import tempfile

__all__ = ["OutputCapture", "MAX_LOG_BYTES_PER_INVOCATION", "COMPACT_BYTES"]

# eventmesh's bound on one invocation's output kept for its log (CloudWatch Logs takes 256 KB
# per event and 1 MB per PutLogEvents batch; a print loop must not fill the daemon's memory).
MAX_LOG_BYTES_PER_INVOCATION = 1_048_576
COMPACT_BYTES = 1 << 20
TRUNCATED_NOTE = "\n[eventmesh: output truncated at 1 MiB]\n"


class OutputCapture:
    """The output file of one process: ``write_fd`` for the child, reads for the parent."""

    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="eventmesh-output-")
        self.read_fd = fd
        self.write_fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.unlink(path)   # the descriptors keep it; nothing is left behind
        self.offset = 0

    def read_new(self, split_at: int = -1) -> tuple[str, str]:
        """What was written since the last read: ``(before split_at, after)`` (file offsets;
        ``-1``: everything is "after")."""
        size = self.size()
        if size <= self.offset:
            return "", ""
        start = self.offset
        wanted = min(size - start, MAX_LOG_BYTES_PER_INVOCATION)
        data = os.pread(self.read_fd, wanted, start)
        self.offset = size
        if size >= COMPACT_BYTES:   # the child is idle now: its next append starts at 0
            os.ftruncate(self.read_fd, 0)
            self.offset = 0
        note = TRUNCATED_NOTE if size - start > wanted else ""
        if split_at < start:
            return "", data.decode("utf-8", "replace") + note
        cut = min(split_at - start, len(data))
        return data[:cut].decode("utf-8", "replace"), data[cut:].decode("utf-8", "replace") + note

    def size(self) -> int:
        """The file's size (``lseek``: ``fstat`` builds a whole stat result, ~10x the cost)."""
        return os.lseek(self.read_fd, 0, os.SEEK_END)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
