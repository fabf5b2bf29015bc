"""Provisioned concurrency in virtual time: environments initialised ahead never start cold, the
rest spill over to on-demand ones, and the amount is taken from the reservation or the account's
unreserved pool.
https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html"""

from __future__ import annotations

import pytest

from eventmesh.services.lambda_ import provisioned
from eventmesh.services.lambda_ import service as control
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFoundException,
    ResourceConflictException,
)
from eventmesh.services.lambda_.pool import account_pool
from tests.services.lambda_.fnhelpers import model_function

HANDLER = "model:duration=1s,cold_start=500ms"


def burst(fn, n: int, qualifier: str = "live") -> list:
    results: list = []
    for _ in range(n):
        fn.invoke(b"{}", qualifier=qualifier, on_done=results.append)
    return results


def test_provisioned_environments_start_warm_and_the_rest_spill_over(vmesh):
    fn = model_function(vmesh, handler=HANDLER)
    control.publish_version(fn)
    control.create_alias(fn, "live", "1")
    provisioned.put_config(fn, "live", 2)
    version = fn.versions["1"]
    results = burst(fn, 3)
    vmesh.flush()
    assert version.envs.created == 1   # two ran on provisioned environments, one started cold
    stats = fn.statistics()
    assert (stats.provisioned_concurrent_executions, stats.provisioned_concurrency_invocations,
            stats.provisioned_concurrency_spillover_invocations) == (2, 2, 1)
    vmesh.clock.advance(2)
    assert len(results) == 3 and all(r.function_error is None for r in results)
    assert (version.envs.pinned_idle, version.envs.pinned_busy) == (2, 0)
    vmesh.clock.advance(3600)           # provisioned environments never expire
    burst(fn, 2)
    vmesh.flush()
    assert version.envs.created == 1
    vmesh.clock.advance(2)
    burst(fn, 1, qualifier="$LATEST")   # $LATEST has none of them
    vmesh.flush()
    assert fn.versions["$LATEST"].envs.created == 1
    stats = fn.statistics()
    assert (stats.provisioned_concurrency_invocations, stats.provisioned_concurrency_spillover_invocations) == (4, 1)


def test_the_amount_comes_out_of_the_unreserved_pool_or_the_reservation(vmesh):
    account = account_pool(vmesh)
    fn = model_function(vmesh, handler=HANDLER)
    control.publish_version(fn)
    provisioned.put_config(fn, "1", 300)
    assert account.unreserved_limit == account.account_limit - 300
    results = burst(fn, 301, qualifier="1")
    vmesh.flush()
    assert account.unreserved_in_use == 1   # only the spill-over takes from the pool
    vmesh.clock.advance(2)
    assert len(results) == 301 and account.unreserved_in_use == 0
    with pytest.raises(InvalidParameterValueException):
        control.put_concurrency(fn, 200)    # less than its provisioned concurrency
    control.put_concurrency(fn, 400)
    assert account.unreserved_limit == account.account_limit - 400
    with pytest.raises(InvalidParameterValueException):
        provisioned.put_config(fn, "1", 401)
    control.delete_function(fn)
    assert account.unreserved_limit == account.account_limit and account.reserved_total == 0


def test_configs_refused_as_lambda_refuses_them(vmesh):
    fn = model_function(vmesh, handler=HANDLER)
    control.publish_version(fn)
    control.create_alias(fn, "live", "1")
    with pytest.raises(InvalidParameterValueException):
        provisioned.put_config(fn, "$LATEST", 1)
    provisioned.put_config(fn, "1", 1)
    with pytest.raises(ResourceConflictException):
        provisioned.put_config(fn, "live", 1)   # the version it points at has one already
    with pytest.raises(InvalidParameterValueException):
        provisioned.put_config(fn, "1", account_pool(vmesh).account_limit)   # below the unreserved minimum
    provisioned.delete_config(fn, "1")
    with pytest.raises(ProvisionedConcurrencyConfigNotFoundException):
        provisioned.get_config(fn, "1")
    assert fn.versions["1"].envs.provisioned == 0 and fn.concurrency.provisioned == 0


def test_an_aliass_provisioned_concurrency_moves_with_it(vmesh):
    fn = model_function(vmesh, handler=HANDLER)
    control.publish_version(fn)
    control.update_function_configuration(fn, timeout=9)
    control.publish_version(fn)
    control.create_alias(fn, "live", "1")
    provisioned.put_config(fn, "live", 3)
    assert (fn.versions["1"].envs.provisioned, fn.versions["2"].envs.provisioned) == (3, 0)
    control.update_alias(fn, "live", function_version="2")
    assert (fn.versions["1"].envs.provisioned, fn.versions["2"].envs.provisioned) == (0, 3)
    control.delete_alias(fn, "live")
    assert fn.versions["2"].envs.provisioned == 0 and fn.provisioned == {}
    assert fn.concurrency.provisioned == 0
