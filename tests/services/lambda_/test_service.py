"""Control plane: names and ARNs, versions, aliases, configuration updates."""

from __future__ import annotations

import pytest

from eventmesh.services.lambda_ import service as control
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from tests.services.lambda_.fnhelpers import ROLE, invoke_sync, model_function

ARN = "arn:aws:lambda:us-east-1:000000000000:function"


def test_find_function_by_name_partial_and_full_arn(vmesh):
    fn = model_function(vmesh)
    control.publish_version(fn)
    for identifier in ("f", f"{ARN}:f", "000000000000:function:f"):
        assert control.find_function(vmesh, identifier) == (fn, None)
    assert control.find_function(vmesh, "f:1") == (fn, "1")
    assert control.find_function(vmesh, f"{ARN}:f:1") == (fn, "1")
    with pytest.raises(ResourceNotFoundException) as err:
        control.find_function(vmesh, "f", "7")
    assert err.value.message == f"Function not found: {ARN}:f:7"
    with pytest.raises(ResourceNotFoundException):
        control.find_function(vmesh, "nope")


def test_function_name_and_limits_are_checked(vmesh):
    with pytest.raises(InvalidParameterValueException):
        control.create_function(vmesh, "bad name", role=ROLE, handler="model:")
    with pytest.raises(InvalidParameterValueException):
        control.create_function(vmesh, "f", role=ROLE, handler="model:", timeout=901)
    with pytest.raises(InvalidParameterValueException):
        control.create_function(vmesh, "f", role=ROLE, handler="model:", memory=64)
    with pytest.raises(InvalidParameterValueException):
        control.create_function(vmesh, "f", role=ROLE, handler="model:", environment={"A": "x" * 5000})


def test_publish_numbers_versions_and_skips_unchanged(vmesh):
    fn = model_function(vmesh)
    assert control.publish_version(fn).name == "1"
    assert control.publish_version(fn).name == "1"
    control.update_function_configuration(fn, timeout=9)
    v2 = control.publish_version(fn)
    assert (v2.name, v2.config.timeout_s, fn.versions["1"].config.timeout_s) == ("2", 9, 3)
    assert vmesh.exists(f"{ARN}:f:2")


def test_update_code_starts_new_environments(vmesh, driver):
    fn = model_function(vmesh)
    invoke_sync(fn)
    driver.advance(1)
    control.update_function_code(fn, handler="model:duration=0.2")
    results = invoke_sync(fn)
    driver.advance(1)
    assert results[0].duration_s == 0.2 and fn.statistics().cold_starts == 2


def test_latest_cannot_be_deleted_alone_and_aliased_versions_are_kept(vmesh):
    fn = model_function(vmesh)
    control.publish_version(fn)
    control.create_alias(fn, "live", "1")
    with pytest.raises(InvalidParameterValueException) as err:
        control.delete_function(fn, "$LATEST")
    assert err.value.message == "$LATEST version cannot be deleted without deleting the function."
    with pytest.raises(ResourceConflictException):
        control.delete_function(fn, "1")
    control.delete_alias(fn, "live")
    control.delete_function(fn, "1")
    assert list(fn.versions) == ["$LATEST"]
    control.delete_function(fn)
    assert not vmesh.exists(fn.arn) and not vmesh.exists(f"{ARN}:f:$LATEST")


def test_alias_rules(vmesh):
    fn = model_function(vmesh)
    control.publish_version(fn)
    with pytest.raises(InvalidParameterValueException):
        control.create_alias(fn, "123", "1")
    with pytest.raises(InvalidParameterValueException) as err:
        control.create_alias(fn, "a", "$LATEST", weights={"1": 0.5})
    assert err.value.message == "$LATEST is not supported for an alias pointing to more than 1 version"
    with pytest.raises(InvalidParameterValueException) as err:
        control.create_alias(fn, "a", "1", weights={"2": 2.0})
    assert "Member must have value less than or equal to 1.0" in err.value.message
    control.create_alias(fn, "a", "1")
    with pytest.raises(ResourceConflictException) as err:
        control.create_alias(fn, "a", "1")
    assert err.value.message == f"Alias already exists: {ARN}:f:a"
    with pytest.raises(ResourceNotFoundException) as err:
        control.get_alias(fn, "zz")
    assert err.value.message == f"Cannot find alias arn: {ARN}:f:zz"


def test_alias_and_version_arns_are_delivery_targets(vmesh, driver):
    from eventmesh.effects import Delivery
    fn = model_function(vmesh)
    control.publish_version(fn)
    control.create_alias(fn, "live", "1")
    assert vmesh.deliver_now(f"{ARN}:f:live", [Delivery("{}")]).ok
    driver.run_until_idle()
    assert fn.statistics().invocations == 1


def test_invoke_configs_are_per_qualifier(vmesh):
    fn = model_function(vmesh)
    control.publish_version(fn)
    control.put_invoke_config(fn, "1", max_retry_attempts=0)
    assert fn.invoke_config("1").max_retry_attempts == 0
    assert fn.invoke_config("$LATEST").max_retry_attempts == 2
    with pytest.raises(InvalidParameterValueException):
        control.put_invoke_config(fn, None, max_event_age_s=59)
    with pytest.raises(InvalidParameterValueException):
        control.put_invoke_config(fn, None, max_retry_attempts=3)


def test_poller_invoke_on_a_deleted_alias_backs_off_instead_of_raising(vmesh):
    fn = model_function(vmesh)
    control.publish_version(fn)
    control.create_alias(fn, "live", "1")
    control.delete_alias(fn, "live")
    results = []
    assert fn.invoke_batch(b"{}", results.append, "arn:aws:sqs:us-east-1:000000000000:q", "live") is False
    assert results == [] and fn.statistics().invocations == 0
