"""The journal: records appended to segment files, made durable in batches (group commit).

``append`` frames a record (4-byte length, 4-byte CRC-32, the body) into an in-memory batch and
returns its sequence number; the batch goes to the writer process (``writer.py``) through a
pipe, which appends what it has read since its last commit with one durable ``write`` and
answers the highest durable sequence number; the journal reports it through ``on_durable``.
Callers that must not answer before their record is on disk wait for that report; nobody waits
for a thread per record.

A segment is named by the sequence number of its first record; ``rotate`` starts a new one (a
snapshot covers everything before it). ``read_records`` stops at the first frame whose length or
CRC does not match: a record cut short by a crash was never acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from eventmesh.drivers.persistence import writer
from eventmesh.drivers.persistence.records import Record, decode_record, encode_record

__all__ = ["FRAME_HEADER_BYTES", "Journal", "JournalFailed", "read_records", "segment_path", "segments"]

log = logging.getLogger("eventmesh.persistence")

FRAME_HEADER_BYTES = 8
_HEADER = struct.Struct("<II")
# What the loop may send ahead of the writer before a send waits for it (the pipe's capacity,
# where the system lets a process set it: Linux): about 400 SendMessageBatch requests.
PIPE_BYTES = 1 << 20
_SET_PIPE_SIZE = 1031   # fcntl.F_SETPIPE_SZ (Linux), not named by every Python's fcntl


class JournalFailed(RuntimeError):
    """The writer process is gone (a disk error, or it was killed): nothing more is durable."""


def segment_path(directory: Path, first_seq: int) -> Path:
    return directory / writer.segment_name(first_seq)


def segments(directory: Path) -> list[tuple[int, Path]]:
    """The journal segments of ``directory``, by first sequence number."""
    found = []
    for path in directory.glob("journal-*.log"):
        try:
            found.append((int(path.stem.split("-", 1)[1]), path))
        except ValueError:
            continue
    return sorted(found)


def read_records(path: Path, first_seq: int) -> Iterator[tuple[int, Record]]:
    """Every whole record of one segment, with its sequence number."""
    data = path.read_bytes()
    pos, seq = 0, first_seq
    while pos + FRAME_HEADER_BYTES <= len(data):
        length, crc = _HEADER.unpack_from(data, pos)
        body = data[pos + FRAME_HEADER_BYTES:pos + FRAME_HEADER_BYTES + length]
        if len(body) != length or zlib.crc32(body) != crc:
            return  # the tail a crash cut short
        yield seq, decode_record(body)
        pos += FRAME_HEADER_BYTES + length
        seq += 1


class Journal:
    """Appends records; ``on_durable(seq)`` hears when every record up to ``seq`` is on disk.

    Appends come from one thread. With ``loop`` (the daemon's event loop) the records of one turn
    of the loop go to the writer together, as one frame, when the turn ends, and the writer's
    reports are read on the loop (a reader on the pipe). Without it each record goes at once and
    a thread reads the reports, handing each to ``post(on_durable, seq)`` (``on_durable`` is
    called on that thread when ``post`` is None). ``lock_fd``, the data directory's lock, is
    handed to the writer, which holds it until it exits."""

    def __init__(self, directory: Path, next_seq: int, on_durable: Callable[[int], None],
                 post: Callable[[Callable[[int], None], int], object] | None = None, *,
                 loop: asyncio.AbstractEventLoop | None = None, lock_fd: int | None = None) -> None:
        self.directory = directory
        self.next_seq = next_seq          # the number the next record gets
        self.durable_seq = next_seq - 1   # every record up to here is on disk
        self._on_durable = on_durable
        self._post = post
        self._loop = loop
        self._batch: list[bytes] = []     # appended, not handed to the writer yet
        self._batch_last = next_seq - 1
        self._handing = False             # a hand-over is scheduled for the end of this turn
        self._closed = False
        self.failed = False
        self.bytes_written = 0
        self.batches_written = 0
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", writer.__file__, str(directory), str(next_seq)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=() if lock_fd is None else (lock_fd,),
            start_new_session=True)   # not in the terminal's process group: the daemon closes it
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to_writer = self._process.stdin.fileno()
        self._from_writer = self._process.stdout.fileno()
        with contextlib.suppress(OSError):
            import fcntl
            fcntl.fcntl(self._to_writer, _SET_PIPE_SIZE, PIPE_BYTES)
        self._reporter: threading.Thread | None = None
        if loop is not None:
            os.set_blocking(self._from_writer, False)
            self._reports = bytearray()
            loop.add_reader(self._from_writer, self._read_reports)
        else:
            self._reporter = threading.Thread(target=self._report_loop, name="eventmesh-journal", daemon=True)
            self._reporter.start()

    def append(self, record: Record) -> int:
        """Queue ``record`` for the next commit; its sequence number."""
        if self.failed:
            raise JournalFailed("the journal's writer is gone: nothing more can be made durable")
        body = encode_record(record)
        seq = self.next_seq
        self.next_seq = seq + 1
        self._batch.append(_HEADER.pack(len(body), zlib.crc32(body)) + body)
        self._batch_last = seq
        if not self._handing:
            if self._loop is None:
                self._hand()
            else:
                self._handing = True
                self._loop.call_soon(self._hand)
        return seq

    def _hand(self) -> None:
        self._handing = False
        if self._batch:
            data = b"".join(self._batch)
            self._batch.clear()
            self._send(writer.DATA, self._batch_last, data)

    def _send(self, kind: int, seq: int, data: bytes = b"") -> None:
        try:
            writer.write_all(self._to_writer, writer.FRAME.pack(kind, seq, len(data)) + data)
        except OSError:
            self._fail()
            return
        self.bytes_written += len(data)

    def rotate(self) -> int:
        """Start a new segment at the next sequence number (returned): what was appended so far
        goes to the old one, everything after to the new one; earlier records stay in the old
        one until :meth:`drop_before` removes it."""
        self._hand()
        first = self.next_seq
        self._send(writer.ROTATE, first)
        return first

    def forget(self) -> None:
        """In a forked child: let go of the pipes to the writer (the child holds the lock, not
        the writer's input open)."""
        for fd in (self._to_writer, self._from_writer):
            with contextlib.suppress(OSError):
                os.close(fd)

    def drop_before(self, seq: int) -> None:
        """Delete the segments a snapshot at ``seq`` made unnecessary (every record < ``seq``)."""
        listed = segments(self.directory)
        for i, (first, path) in enumerate(listed):
            following = listed[i + 1][0] if i + 1 < len(listed) else None
            if following is not None and following <= seq:
                path.unlink(missing_ok=True)
            elif first >= seq:
                break

    def close(self) -> None:
        """Write what is queued, then stop the writer (its last report is taken here)."""
        if self._closed:
            return
        self._closed = True
        self._hand()
        self._send(writer.CLOSE, 0)
        if self._loop is not None:
            with contextlib.suppress(Exception):   # a loop already closed has no readers left
                self._loop.remove_reader(self._from_writer)
            os.set_blocking(self._from_writer, True)
            self._take_reports(self._reports)
        elif self._reporter is not None:
            self._reporter.join(timeout=30)
        self._process.stdin.close()  # type: ignore[union-attr]
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._process.stdout.close()  # type: ignore[union-attr]

    # -- the writer's reports ------------------------------------------------------------------

    def _read_reports(self) -> None:
        """On the loop: what the writer reported since (8 bytes a commit; the last one counts)."""
        try:
            chunk = os.read(self._from_writer, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            self._loop.remove_reader(self._from_writer)  # type: ignore[union-attr]
            self._fail()
            return
        self._take(self._reports, chunk)

    def _take(self, reports: bytearray, chunk: bytes) -> bool:
        """Add what was read to ``reports`` and take the whole reports in it; True when the
        writer said it closed."""
        reports += chunk
        whole = len(reports) - len(reports) % writer.REPORT.size
        if not whole:
            return False
        closed = self._durable(reports[:whole])
        del reports[:whole]
        return closed

    def _durable(self, reports: bytes | bytearray) -> bool:
        """Take whole reports; True when the last says the writer closed."""
        count = len(reports) // writer.REPORT.size
        (last,) = writer.REPORT.unpack_from(reports, (count - 1) * writer.REPORT.size)
        closed = last == writer.CLOSED
        if closed:
            count -= 1
            if not count:
                return True
            (last,) = writer.REPORT.unpack_from(reports, (count - 1) * writer.REPORT.size)
        self.batches_written += count
        self.durable_seq = last
        if self._post is not None and self._loop is None:
            self._post(self._on_durable, last)
        else:
            self._on_durable(last)
        return closed

    def _take_reports(self, reports: bytearray) -> None:
        """Blocking reads of the writer's reports until it says it closed (or is gone)."""
        while True:
            try:
                chunk = os.read(self._from_writer, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                if not self._closed:
                    self._fail()
                return
            if self._take(reports, chunk):
                return

    def _report_loop(self) -> None:
        self._take_reports(bytearray())

    def _fail(self) -> None:
        if not self.failed:
            self.failed = True
            log.error("the journal's writer for %s exited (code %s): requests are refused until a restart",
                      self.directory, self._process.poll())
