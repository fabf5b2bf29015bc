"""Model (synthetic) handlers: seeded durations, errors, cold starts, timeouts; handler kinds."""

from __future__ import annotations

import json
import statistics

import pytest

from eventmesh.clock import VIRTUAL_EPOCH as T0
from eventmesh.services.lambda_.errors import InvalidParameterValueException
from eventmesh.services.lambda_.handlers import parse_handler
from eventmesh.services.lambda_.handlers.model import ModelSpec, parse_model
from eventmesh.testing import virtual_mesh
from tests.services.lambda_.fnhelpers import invoke_sync, model_function


def _durations(seed: int, handler: str, n: int = 2000) -> list[float]:
    mesh, driver = virtual_mesh(seed=seed)
    fn = model_function(mesh, handler=handler, timeout=900)
    results = []
    for _ in range(n):
        fn.invoke(b"{}", on_done=results.append)
        driver.advance(10)
    return [r.duration_s for r in results]


def test_fixed_duration_completes_at_the_exact_virtual_time(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=250ms")
    results = invoke_sync(fn)
    driver.advance(0.249)
    assert results == []
    driver.advance(0.001)
    assert len(results) == 1 and vmesh.clock.now() == T0 + 0.25 and results[0].duration_s == 0.25


def test_lognormal_durations_follow_p50_and_p99_and_are_reproducible():
    first = _durations(3, "model:p50=20ms,p99=200ms")
    assert first == _durations(3, "model:p50=20ms,p99=200ms")
    assert first != _durations(4, "model:p50=20ms,p99=200ms")
    ordered = sorted(first)
    assert 0.017 < statistics.median(ordered) < 0.023
    assert 0.13 < ordered[int(len(ordered) * 0.99)] < 0.30


def test_uniform_durations_stay_in_range():
    durations = _durations(1, "model:min=1,max=2", 300)
    assert min(durations) >= 1 and max(durations) <= 2


def test_exponential_durations_have_the_given_mean_and_are_memoryless():
    durations = _durations(5, "model:duration=exp(40ms)", 4000)
    assert durations == _durations(5, "model:duration=exp(40ms)", 4000)
    mean = statistics.fmean(durations)
    # The mean of 4,000 exponential draws is within 3 standard errors (40 ms / sqrt(4000)).
    assert abs(mean - 0.040) < 3 * 0.040 / 4000 ** 0.5
    # Memoryless: of the draws past 40 ms, the excess again has mean 40 ms.
    excess = [d - 0.040 for d in durations if d > 0.040]
    assert abs(statistics.fmean(excess) - 0.040) < 4 * 0.040 / len(excess) ** 0.5
    assert abs(statistics.stdev(durations) - 0.040) < 0.004


def test_per_record_cost_is_added_for_each_record_of_the_batch(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=10ms,per_record=2ms")
    batch = json.dumps({"Records": [{"eventSource": "aws:sqs", "body": '{"eventSource": 1}'}] * 5}).encode()
    sns = json.dumps({"Records": [{"EventSource": "aws:sns"}]}).encode()
    runs = [invoke_sync(fn, batch), invoke_sync(fn, sns), invoke_sync(fn, b'{"detail": {}}')]
    ended: list[float] = []
    fn.invoke(batch, on_done=lambda r: ended.append(vmesh.clock.now()))
    driver.advance(1)
    assert [round(run[0].duration_s, 6) for run in runs] == [0.020, 0.012, 0.012]
    assert ended == [T0 + 0.020]


def test_per_record_cost_counts_towards_the_timeout(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=exp(1ms),per_record=1", timeout=3)
    batch = json.dumps({"Records": [{"eventSource": "aws:kinesis"}] * 4}).encode()
    results = invoke_sync(fn, batch)
    driver.advance(5)
    assert results[0].error_type == "Sandbox.Timedout" and results[0].duration_s == 3


def test_error_rate_is_seeded(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.01,error_rate=0.25,seed=11")
    results = []
    for _ in range(1000):
        fn.invoke(b"{}", on_done=results.append)
    driver.advance(1)
    errors = [r for r in results if r.function_error == "Unhandled"]
    assert 200 < len(errors) < 300
    assert fn.statistics().errors == len(errors) and fn.statistics().invocations == 1000
    payload = json.loads(errors[0].payload)
    assert (payload["errorType"], payload["errorMessage"]) == ("ModelError", "Simulated function error")


def test_cold_start_delays_only_new_environments(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.1,cold_start=1")
    first = invoke_sync(fn)
    driver.advance(1.05)
    assert first == []
    driver.advance(0.05)
    assert len(first) == 1
    warm = invoke_sync(fn)
    driver.advance(0.15)   # 0.1 s, no cold start
    assert len(warm) == 1 and fn.statistics().cold_starts == 1


def test_duration_past_the_timeout_is_the_timeout_error(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=5", timeout=2)
    results = invoke_sync(fn, request_id="abc")
    driver.advance(2)
    assert results[0].function_error == "Unhandled" and results[0].error_type == "Sandbox.Timedout"
    assert json.loads(results[0].payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: abc Error: Task timed out after 2.00 seconds"}
    assert fn.statistics().duration.sum == 2.0


def test_log_tail_has_start_end_report(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.0123")
    results = invoke_sync(fn, log_tail=True, request_id="r-1")
    driver.advance(1)
    import base64
    log = base64.b64decode(results[0].log_result).decode()
    assert log.startswith("START RequestId: r-1 Version: $LATEST\nEND RequestId: r-1\n")
    assert "REPORT RequestId: r-1\tDuration: 12.30 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB" in log


def test_parse_model_reads_keys_and_units():
    assert parse_model("p50=20ms,p99=1,error_rate=0.5,cold_start=300ms,seed=2") == ModelSpec(
        distribution="lognormal", p50_s=0.02, p99_s=1.0, error_rate=0.5, cold_start_s=0.3, seed=2)
    assert parse_model("duration=exp(40ms),per_record=2ms") == ModelSpec(
        distribution="exponential", duration_s=0.04, per_record_s=0.002)
    for bad in ("p50=2,p99=1", "error_rate=2", "speed=3", "min=3,max=1", "duration=exp(0)",
                "duration=exp(x)", "per_record=-1ms", "duration=1,p50=1,p99=2", "duration=nan"):
        with pytest.raises(InvalidParameterValueException):
            parse_model(bad)


def test_handler_kinds_from_the_handler_setting():
    assert parse_handler("python3.12", "app.handler", True).kind == "python"
    assert parse_handler("python3.12", "app.handler", True).zipped
    assert parse_handler(None, "pkg.mod:fn", False).target == "pkg.mod:fn"
    assert parse_handler("python3.12", "pkg.mod.fn", False).target == "pkg.mod:fn"
    assert parse_handler("provided.al2023", "http://127.0.0.1:9000/x", False).kind == "http"
    assert parse_handler(None, "model:duration=1", False).kind == "model"
    assert parse_handler("nodejs20.x", "index.handler", True).kind == "runtime"
    assert parse_handler("provided.al2023", "anything", True).kind == "runtime"
    with pytest.raises(InvalidParameterValueException):
        parse_handler("java21", "example.Handler::handleRequest", True)
    for outside in ("../x.handler", "/abs/app.handler", "a/../../b.handler"):
        with pytest.raises(InvalidParameterValueException):
            parse_handler("python3.12", outside, True)
