"""The journal: records appended to segment files, made durable in batches (group commit).

``append`` frames a record (4-byte length, 4-byte CRC-32, the body) into an in-memory batch and
returns its sequence number; a writer thread writes each batch with one ``write`` and makes it
durable with one ``fdatasync``, then reports the highest durable sequence number through
``on_durable`` (on the event loop, via ``call_soon_threadsafe``). Callers that must not answer
before their record is on disk wait for that report; nobody waits for a thread per record.

A segment is named by the sequence number of its first record; ``rotate`` starts a new one (a
snapshot covers everything before it). ``read_records`` stops at the first frame whose length or
CRC does not match: a record cut short by a crash was never acknowledged.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from eventmesh.drivers.persistence.records import Record, decode_record, encode_record

__all__ = ["FRAME_HEADER_BYTES", "Journal", "read_records", "segment_path", "segments"]

FRAME_HEADER_BYTES = 8
_HEADER = struct.Struct("<II")
# fdatasync makes an append durable (the data and the file size that finds it) without the rest
# of the inode's metadata; platforms without it (macOS) fsync.
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
    """Appends records; ``on_durable(seq)`` hears when every record up to ``seq`` is on disk."""

    def __init__(self, directory: Path, next_seq: int, on_durable: Callable[[int], None],
                 post: Callable[[Callable[[int], None], int], object]) -> None:
        self.directory = directory
        self.next_seq = next_seq          # the number the next record gets
        self.durable_seq = next_seq - 1   # every record up to here is on disk
        self._on_durable = on_durable
        self._post = post                 # loop.call_soon_threadsafe
        self._batch: list[bytes] = []
        self._batch_last = next_seq - 1
        self._wake = threading.Condition()  # guards the batch; appends take only this one
        self._io = threading.Lock()          # guards the segment: a batch is taken and written under it
        self._closing = False
        self._fd = os.open(segment_path(directory, next_seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._writer = threading.Thread(target=self._write_loop, name="eventmesh-journal", daemon=True)
        self._writer.start()
        self.bytes_written = 0
        self.batches_written = 0

    def append(self, record: Record) -> int:
        """Queue ``record`` for the next batch; its sequence number."""
        body = encode_record(record)
        frame = _HEADER.pack(len(body), zlib.crc32(body)) + body
        with self._wake:
            seq = self.next_seq
            self.next_seq = seq + 1
            self._batch.append(frame)
            self._batch_last = seq
            self._wake.notify()
        return seq

    def rotate(self) -> int:
        """Start a new segment at the next sequence number (returned); earlier records stay in
        the old one until :meth:`drop_before` removes it."""
        with self._io, self._wake:
            self._flush_locked()
            old, self._fd = self._fd, os.open(segment_path(self.directory, self.next_seq),
                                              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(old)
            first, durable = self.next_seq, self.durable_seq
        self._post(self._on_durable, durable)
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
        """Write and fsync what is queued, then stop the writer."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._writer.join(timeout=10)
        os.close(self._fd)

    def _flush_locked(self) -> int:
        """Write and fsync the queued batch (the caller holds the lock); the last durable seq."""
        if self._batch:
            data = b"".join(self._batch)
            self._batch.clear()
            os.write(self._fd, data)
            _sync(self._fd)
            self.bytes_written += len(data)
            self.batches_written += 1
            self.durable_seq = self._batch_last
        return self.durable_seq

    def _write_loop(self) -> None:
        while True:
            with self._wake:
                while not self._batch and not self._closing:
                    self._wake.wait()
                if not self._batch and self._closing:
                    return
            with self._io:
                with self._wake:
                    data = b"".join(self._batch)
                    self._batch.clear()
                    last = self._batch_last
                if not data:
                    continue  # rotate() wrote it meanwhile
                # The write and the fsync hold only the segment lock: appends go on meanwhile,
                # into the next batch (the commit of many requests in one fsync).
                os.write(self._fd, data)
                _sync(self._fd)
                with self._wake:
                    self.bytes_written += len(data)
                    self.batches_written += 1
                    self.durable_seq = max(self.durable_seq, last)
            self._post(self._on_durable, last)
