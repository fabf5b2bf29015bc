"""The journal: records appended to segment files, made durable in batches (group commit).

``append`` frames a record (4-byte length, 4-byte CRC-32, the body) into an in-memory batch and
returns its sequence number; a writer thread writes what was appended since its last commit with
one durable ``write`` (``O_DSYNC``), then reports the highest durable sequence number through
``on_durable`` (on the event loop, via ``call_soon_threadsafe``). Callers that must not answer
before their record is on disk wait for that report; nobody waits for a thread per record.

A segment is named by the sequence number of its first record; ``rotate`` starts a new one (a
snapshot covers everything before it). ``read_records`` stops at the first frame whose length or
CRC does not match: a record cut short by a crash was never acknowledged.
"""

from __future__ import annotations

import os
import queue
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from eventmesh.drivers.persistence.records import Record, decode_record, encode_record

__all__ = ["FRAME_HEADER_BYTES", "Journal", "read_records", "segment_path", "segments"]

FRAME_HEADER_BYTES = 8
_HEADER = struct.Struct("<II")
# O_DSYNC makes each write durable before it returns (the data and the file size that finds it,
# not the rest of the inode's metadata): write + fdatasync in one system call. Where there is
# no O_DSYNC, a write is followed by fdatasync, or fsync where that is missing too (macOS).
_DSYNC = getattr(os, "O_DSYNC", 0)
_sync = getattr(os, "fdatasync", os.fsync)


def segment_path(directory: Path, first_seq: int) -> Path:
    return directory / f"journal-{first_seq:016d}.log"


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

    Appends come from one thread (the event loop's). With ``soon`` (``loop.call_soon``) the
    records of one turn of the loop go to the writer together, as one piece, when the turn ends;
    without it each record goes at once. The writer takes every piece handed to it meanwhile and
    writes them with one ``write`` to a segment opened with ``O_DSYNC`` (the write returns once
    the data is on disk: one system call and one return to Python per commit, not a write and an
    fsync), then reports. The hand-over is a ``queue.SimpleQueue`` (C, no Python lock): between
    the loop and the writer each commit costs one wake-up each way."""

    def __init__(self, directory: Path, next_seq: int, on_durable: Callable[[int], None],
                 post: Callable[[Callable[[int], None], int], object],
                 soon: Callable[[Callable[[], None]], object] | None = None) -> None:
        self.directory = directory
        self.next_seq = next_seq          # the number the next record gets
        self.durable_seq = next_seq - 1   # every record up to here is on disk
        self._on_durable = on_durable
        self._post = post                 # loop.call_soon_threadsafe
        self._soon = soon
        self._batch: list[bytes] = []     # appended, not handed to the writer yet
        self._batch_last = next_seq - 1
        self._handing = False             # a hand-over is scheduled for the end of this turn
        # Pieces for the writer: (data, last seq), a new segment's first seq (rotate), None (close).
        self._pieces: queue.SimpleQueue[tuple[bytes, int] | int | None] = queue.SimpleQueue()
        self._fd = _open_segment(directory, next_seq)
        self._closed = False
        self.bytes_written = 0
        self.batches_written = 0
        self._writer = threading.Thread(target=self._write_loop, name="eventmesh-journal", daemon=True)
        self._writer.start()

    def append(self, record: Record) -> int:
        """Queue ``record`` for the next commit; its sequence number."""
        body = encode_record(record)
        seq = self.next_seq
        self.next_seq = seq + 1
        self._batch.append(_HEADER.pack(len(body), zlib.crc32(body)) + body)
        self._batch_last = seq
        if not self._handing:
            if self._soon is None:
                self._hand()
            else:
                self._handing = True
                self._soon(self._hand)
        return seq

    def _hand(self) -> None:
        self._handing = False
        if self._batch:
            self._pieces.put((b"".join(self._batch), self._batch_last))
            self._batch.clear()

    def rotate(self) -> int:
        """Start a new segment at the next sequence number (returned): what was appended so far
        goes to the old one, everything after to the new one; earlier records stay in the old
        one until :meth:`drop_before` removes it."""
        self._hand()
        first = self.next_seq
        self._pieces.put(first)
        return first

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
        """Write what is queued, then stop the writer."""
        if self._closed:
            return
        self._closed = True
        self._hand()
        self._pieces.put(None)
        self._writer.join(timeout=10)
        os.close(self._fd)

    def _write_loop(self) -> None:
        pieces = self._pieces
        while True:
            taken = [pieces.get()]
            while not pieces.empty():  # everything handed meanwhile: one commit (group commit)
                taken.append(pieces.get_nowait())
            chunks: list[bytes] = []
            last = -1
            for piece in taken:
                if isinstance(piece, tuple):
                    chunks.append(piece[0])
                    last = piece[1]
                    continue
                self._commit(chunks, last)  # a rotation or the close: the old segment first
                chunks, last = [], -1
                if piece is None:
                    return
                old, self._fd = self._fd, _open_segment(self.directory, piece)
                os.close(old)
            self._commit(chunks, last)

    def _commit(self, chunks: list[bytes], last: int) -> None:
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        os.write(self._fd, data)
        if not _DSYNC:
            _sync(self._fd)
        self.bytes_written += len(data)
        self.batches_written += 1
        self.durable_seq = last
        self._post(self._on_durable, last)


def _open_segment(directory: Path, first_seq: int) -> int:
    return os.open(segment_path(directory, first_seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND | _DSYNC, 0o600)
