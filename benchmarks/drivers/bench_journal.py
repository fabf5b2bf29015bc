"""Group commit in the data directory: the journal against SQLite in WAL mode, same records.

Each round commits a batch of request records (a SendMessageBatch of 10 x 200 B by default, as
``daemon/bench_sqs_daemon.py`` sends) and waits until it is durable, as the daemon waits before it
answers: the journal with one ``write`` + ``fdatasync`` per batch, SQLite with one transaction per
batch (``journal_mode=WAL``, ``synchronous=FULL``: a commit is durable when it returns). Prints
records/s, commit latency p50/p99 and the bytes written per record. This is the measurement the
store of ``--data-dir`` was chosen by (docs/durability.md).

    .venv/bin/python benchmarks/drivers/bench_journal.py [--batches 2000] [--batch 1,4,16] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from eventmesh.drivers.persistence.journal import Journal
from eventmesh.drivers.persistence.records import RequestRecord, encode_record

DEADLINE_S = 60.0   # every run stops here, whatever --batches says


def _record(i: int) -> RequestRecord:
    entries = "&".join(f"SendMessageBatchRequestEntry.{n}.Id=m{n}&SendMessageBatchRequestEntry.{n}.MessageBody="
                       + "x" * 200 for n in range(1, 11))
    return RequestRecord(at=1_700_000_000.0 + i, method="POST", path="/", query="",
                         headers={"content-type": "application/x-www-form-urlencoded",
                                  "x-amz-target": "AmazonSQS.SendMessageBatch"},
                         body=f"Action=SendMessageBatch&QueueUrl=q{i}&{entries}".encode())


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"


async def _journal(directory: Path, batches: int, batch: int) -> tuple[int, list[float], int]:
    loop = asyncio.get_running_loop()
    durable = asyncio.Event()
    seen = [0]

    def on_durable(seq: int) -> None:
        seen[0] = seq
        durable.set()

    journal = Journal(directory, 1, on_durable, loop=loop)
    latencies, done, deadline = [], 0, time.monotonic() + DEADLINE_S
    try:
        for b in range(batches):
            if time.monotonic() > deadline:
                break
            start = time.perf_counter()
            last = 0
            for i in range(batch):
                last = journal.append(_record(b * batch + i))
            while seen[0] < last:
                durable.clear()
                await durable.wait()
            latencies.append(time.perf_counter() - start)
            done += batch
        return done, latencies, journal.bytes_written
    finally:
        journal.close()


def _sqlite(directory: Path, batches: int, batch: int) -> tuple[int, list[float], int]:
    path = directory / "journal.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    latencies, done, deadline = [], 0, time.monotonic() + DEADLINE_S
    try:
        for b in range(batches):
            if time.monotonic() > deadline:
                break
            start = time.perf_counter()
            rows = [(b * batch + i + 1, encode_record(_record(b * batch + i))) for i in range(batch)]
            db.execute("BEGIN")
            db.executemany("INSERT INTO records VALUES (?, ?)", rows)
            db.execute("COMMIT")
            latencies.append(time.perf_counter() - start)
            done += batch
    finally:
        db.close()
    written = sum(p.stat().st_size for p in directory.glob("journal.sqlite*"))
    return done, latencies, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000, help="commits per store and batch size")
    parser.add_argument("--batch", default="1,4,16", help="records per commit (comma-separated)")
    parser.add_argument("--dir", default=None, help="directory on the disk to measure (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.batch.split(",")]
    print(f"records: SendMessageBatch requests of {len(encode_record(_record(0)))} B; {args.batches} commits "
          f"per row; fdatasync: {hasattr(os, 'fdatasync')}")
    print(f"{'store':<8} {'batch':>5} {'records/s':>11}  commit latency             bytes/record")
    for size in sizes:
        for store in ("journal", "sqlite"):
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                start = time.perf_counter()
                if store == "journal":
                    done, latencies, written = asyncio.run(_journal(Path(tmp), args.batches, size))
                else:
                    done, latencies, written = _sqlite(Path(tmp), args.batches, size)
                elapsed = time.perf_counter() - start
            print(f"{store:<8} {size:>5} {done / elapsed:>11,.0f}  {_percentiles(latencies):<26} "
                  f"{written / max(done, 1):,.0f}")


if __name__ == "__main__":
    main()
