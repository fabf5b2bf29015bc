"""Concurrency: account limit, reserved concurrency, scaling rate, warm environments."""

from __future__ import annotations

import pytest

from eventmesh.services.lambda_.errors import InvalidParameterValueException, TooManyRequestsException
from eventmesh.services.lambda_.pool import account_pool
from eventmesh.services.lambda_.service import delete_concurrency, put_concurrency
from tests.services.lambda_.fnhelpers import invoke_sync, model_function


def test_account_limit_throttles_the_1001st_concurrent_invocation(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=1")
    for _ in range(1000):
        invoke_sync(fn)
    assert fn.statistics().concurrent_executions == 1000
    with pytest.raises(TooManyRequestsException) as err:
        fn.invoke(b"{}")
    assert err.value.reason == "ConcurrentInvocationLimitExceeded"
    assert err.value.extra == {"Reason": "ConcurrentInvocationLimitExceeded"}
    assert err.value.http_status == 429 and err.value.message == "Rate Exceeded."
    driver.advance(1)
    stats = fn.statistics()
    assert (stats.invocations, stats.throttles, stats.concurrent_executions) == (1000, 1, 0)


def test_functions_share_the_unreserved_pool(vmesh, driver):
    a = model_function(vmesh, "a", handler="model:duration=1")
    b = model_function(vmesh, "b", handler="model:duration=1")
    for _ in range(600):
        invoke_sync(a)
    accepted = sum(b.invoke_batch(b"{}", lambda r: None, "src") for _ in range(500))
    assert accepted == 400
    assert account_pool(vmesh).statistics().concurrent_executions == 1000
    assert b.statistics().throttles == 100


def test_reserved_concurrency_caps_the_function(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=1")
    put_concurrency(fn, 2)
    invoke_sync(fn)
    invoke_sync(fn)
    with pytest.raises(TooManyRequestsException) as err:
        fn.invoke(b"{}")
    assert err.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    driver.advance(1)
    assert len(invoke_sync(fn)) == 0 and fn.statistics().concurrent_executions == 1


def test_reserved_concurrency_zero_throttles_every_invocation(vmesh, driver):
    fn = model_function(vmesh)
    put_concurrency(fn, 0)
    for _ in range(3):
        with pytest.raises(TooManyRequestsException):
            fn.invoke(b"{}")
    assert fn.invoke_batch(b"{}", lambda r: None, "arn:aws:sqs:us-east-1:000000000000:q") is False
    assert fn.statistics().throttles == 4 and fn.statistics().invocations == 0
    delete_concurrency(fn)
    assert fn.invoke_batch(b"{}", lambda r: None, "src") is True


def test_reserved_concurrency_keeps_the_unreserved_minimum(vmesh):
    fn = model_function(vmesh)
    with pytest.raises(InvalidParameterValueException) as err:
        put_concurrency(fn, 901)
    assert err.value.message == ("Specified ReservedConcurrentExecutions for function decreases account's "
                                 "UnreservedConcurrentExecution below its minimum value of [100].")
    put_concurrency(fn, 900)
    other = model_function(vmesh, "other")
    with pytest.raises(InvalidParameterValueException):
        put_concurrency(other, 1)
    assert account_pool(vmesh).unreserved_limit == 100


def test_reserved_function_does_not_use_the_unreserved_pool(vmesh, driver):
    reserved = model_function(vmesh, "r", handler="model:duration=1")
    put_concurrency(reserved, 300)
    shared = model_function(vmesh, "s", handler="model:duration=1")
    for _ in range(300):
        invoke_sync(reserved)
    assert sum(shared.invoke_batch(b"{}", lambda r: None, "src") for _ in range(800)) == 700
    stats = account_pool(vmesh).statistics()
    assert (stats.concurrent_executions, stats.unreserved_concurrent_executions) == (1000, 700)
    assert stats.claimed_account_concurrency == 1000


def test_scaling_rate_allows_1000_new_environments_then_100_per_second(vmesh, driver):
    account_pool(vmesh).account_limit = 10_000
    fn = model_function(vmesh, handler="model:duration=60", timeout=900)
    started = sum(fn.invoke_batch(b"{}", lambda r: None, "src") for _ in range(1100))
    assert started == 1000
    driver.advance(1)
    assert sum(fn.invoke_batch(b"{}", lambda r: None, "src") for _ in range(200)) == 100
    driver.advance(10)
    assert sum(fn.invoke_batch(b"{}", lambda r: None, "src") for _ in range(2000)) == 1000  # capped at 1,000


def test_warm_environments_are_reused_and_cold_starts_counted(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.1")
    for _ in range(5):
        invoke_sync(fn)
    driver.advance(1)
    assert fn.statistics().cold_starts == 5
    for _ in range(7):
        invoke_sync(fn)
    driver.advance(1)
    assert fn.statistics().cold_starts == 7   # five warm, two new


def test_idle_environments_are_reclaimed_after_keep_warm(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.1")
    invoke_sync(fn)
    driver.advance(299)
    invoke_sync(fn)
    driver.advance(1)
    assert fn.statistics().cold_starts == 1
    driver.advance(301)
    invoke_sync(fn)
    driver.advance(1)
    assert fn.statistics().cold_starts == 2


def test_concurrent_executions_exact_at_every_instant(vmesh, driver):
    fn = model_function(vmesh, handler="model:min=1,max=3,seed=4")
    for _ in range(50):
        invoke_sync(fn)
    seen = []
    for _ in range(40):
        driver.advance(0.1)
        seen.append(fn.statistics().concurrent_executions)
    assert seen[:9] == [50] * 9
    assert seen == sorted(seen, reverse=True) and seen[-1] == 0
    assert fn.statistics().invocations == 50


def test_poller_gets_the_result_after_capacity_is_released(vmesh, driver):
    fn = model_function(vmesh, handler="model:duration=0.5")
    put_concurrency(fn, 1)
    results = []

    def again(result):
        results.append(result)
        if len(results) < 3:
            assert fn.invoke_batch(b"{}", again, "src")   # capacity is back before on_done

    assert fn.invoke_batch(b'{"Records": []}', again, "src")
    driver.advance(2)
    assert len(results) == 3 and results[0].payload == b"null" and results[0].status == 200
    assert results[0].function_error is None and results[0].duration_s == 0.5
