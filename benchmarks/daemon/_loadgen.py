"""A keep-alive HTTP load generator shared by the daemon benchmarks (one asyncio client process).

Each connection sends pre-built requests back to back for ``warmup + seconds``, reads each
response (status 200 required), and records latency after the warm-up; ``inspect(body)`` returns
a number summed over the timed responses (e.g. failed records), or checks the body and raises.
Bounded in time; the caller bounds the request set.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["drive", "run", "client_process"]


async def _connection(host: str, port: int, requests: list[bytes], stop_at: float, warm_until: float,
                      latencies: list[float], inspect: Callable[[bytes], int], offset: int = 0,
                      interval: float = 0.0) -> tuple[int, int, int]:
    reader, writer = await asyncio.open_connection(host, port)
    done = counted = n = 0
    next_at = time.perf_counter()
    while (now := time.perf_counter()) < stop_at:
        if interval:   # a paced connection: one request every ``interval`` (at once when behind)
            next_at += interval
            if next_at > now:
                await asyncio.sleep(next_at - now)
                now = time.perf_counter()
        writer.write(requests[(offset + n) % len(requests)])
        n += 1
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
        body = await reader.readexactly(length)
        if now >= warm_until:
            latencies.append(time.perf_counter() - now)
            done += 1
            counted += inspect(body)
    writer.close()
    return done, counted, n


async def drive(host: str, port: int, requests: list[bytes], *, connections: int, seconds: float,
                warmup: float, inspect: Callable[[bytes], int] = lambda body: 0,
                rate: float | None = None, sets: list[list[bytes]] | None = None) -> dict[str, float]:
    """Run the load; returns requests, the summed ``inspect`` count, seconds, p50 and p99.
    ``rate``: requests/s offered in all (each connection paced to its share), else as fast as
    the answers come. ``sets``: connection i sends only ``sets[i % len(sets)]`` instead."""
    interval = connections / rate if rate else 0.0
    start = time.perf_counter()
    warm_until, stop_at = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    results = await asyncio.gather(*[
        _connection(host, port, sets[i % len(sets)] if sets else requests, stop_at, warm_until, latencies,
                    inspect, i * 7, interval)
        for i in range(connections)])
    latencies.sort()
    return {"requests": sum(r[0] for r in results), "counted": sum(r[1] for r in results), "seconds": seconds,
            "all_requests": sum(r[2] for r in results),   # the warm-up's too (what server CPU is spent on)
            "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)]}


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop when it is there."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def client_process(script: str, port: int, seconds: float, warmup: float, *options: str) -> dict[str, float]:
    """Run ``script --client`` in its own process (so client and daemon do not share a GIL) and
    return the JSON result it prints."""
    command = [sys.executable, script, "--client", "--port", str(port), "--seconds", str(seconds),
               "--warmup", str(warmup), *options]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + warmup + 120)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    result: dict[str, float] = json.loads(out.stdout)
    return result
