"""Every served operation of every service, sent malformed and mistyped inputs (generated from
the botocore models, ``fuzzgen``) through a daemon on 127.0.0.1: a 4xx in the protocol's error
shape for each (a 5xx for none), an answer for each (no hang), the daemon healthy and valid
traffic interleaved with the fuzz served correctly; at one worker and at two, where requests for
the other worker's resources are forwarded. A bounded run; the long one is
``benchmarks/daemon/fuzz_daemon.py``."""

from __future__ import annotations

import json

import pytest

from eventmesh.workers import serve_in_thread
from tests.wire.fuzzgen import Canary, Fuzzer, Wire, judge

CASES = 2_500
CANARY_EVERY = 50


@pytest.mark.parametrize("seed", [11, 12])
def test_fuzzed_requests_get_4xx_and_leave_the_daemon_serving(seed: int, workers: int) -> None:
    handle = serve_in_thread(workers=workers)
    try:
        wire = Wire(handle.daemon.bound_port)
        canary = Canary(wire)
        handle.advance(1)   # the canary's stream becomes ACTIVE
        served = {name: list(bound.ops) for name, bound in handle.daemon.api.services.items()}
        fuzzer = Fuzzer(seed, served)
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        for i in range(CASES):
            case = fuzzer.case()
            seen.add((case.service, case.operation))
            status, headers, body = wire.send(case.method, case.path, case.headers, case.body)
            problem = judge(case, status, headers, body)
            if problem:
                problems.append(f"{case.service}.{case.operation} ({case.protocol}): {problem}")
            if i % CANARY_EVERY == 0:
                canary.check()
                handle.advance(1)   # virtual time: the canary's stream reads stay within their quota
        assert not problems, problems[:10]
        assert {s for s, _ in seen} == set(served) and len(seen) > 100   # every service, most operations
        status, _, body = wire.send("GET", "/_eventmesh/health", {}, b"")
        assert status == 200 and json.loads(body)["status"] == "ok"
        canary.check()
    finally:
        handle.stop()
