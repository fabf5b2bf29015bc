"""Provisioned concurrency: execution environments a published version (or an alias) keeps
initialised ahead of its invocations.

PutProvisionedConcurrencyConfig names a version or an alias, never ``$LATEST``; a version and an
alias that points at it cannot both have one. The amount counts against the function's reserved
concurrency when it has one (the sum may not exceed it), else against the account's unreserved
pool, which keeps its minimum of 100. Invocations of the version run first on its provisioned
environments, which never start cold and never expire; beyond them they spill over to on-demand
environments (``pool.Environments``, ``pool.FunctionConcurrency``). Lambda takes minutes to
allocate provisioned concurrency (``IN_PROGRESS``, then ``READY``); here a config is ``READY`` with
all of it allocated at once, as functions are ``Active`` at once. An alias's config follows the
alias to the version it points at (its primary version, when it routes by weight).
https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
https://docs.aws.amazon.com/lambda/latest/api/API_PutProvisionedConcurrencyConfig.html
"""

from __future__ import annotations

from typing import Any

from eventmesh.services.lambda_.configuration import LATEST, lambda_timestamp
from eventmesh.services.lambda_.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFoundException,
    ResourceConflictException,
    function_not_found,
)
from eventmesh.services.lambda_.pool import account_pool

__all__ = ["READY", "ProvisionedConfig", "apply", "delete_config", "describe", "get_config", "put_config"]

READY = "READY"


class ProvisionedConfig:
    """One qualifier's requested provisioned concurrency."""

    def __init__(self, requested: int, now: float) -> None:
        self.requested = requested
        self.modified = now


def _version_of(function: Any, qualifier: str) -> str:
    alias = function.aliases.get(qualifier)
    return str(alias.function_version) if alias is not None else qualifier


def put_config(function: Any, qualifier: str, requested: int) -> ProvisionedConfig:
    """PutProvisionedConcurrencyConfig (replaces the qualifier's config)."""
    if qualifier == LATEST:
        raise InvalidParameterValueException(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    if not function.has_qualifier(qualifier):
        raise function_not_found(f"{function.arn}:{qualifier}")
    configs: dict[str, ProvisionedConfig] = function.provisioned
    version = _version_of(function, qualifier)
    for other in configs:
        if other != qualifier and _version_of(function, other) == version:
            raise ResourceConflictException(
                "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version"
                if qualifier in function.aliases else
                "Version is pointed by an alias that already has Provisioned Concurrency configured")
    total = sum(c.requested for q, c in configs.items() if q != qualifier) + requested
    concurrency = function.concurrency
    if concurrency.reserved is not None:
        if total > concurrency.reserved:
            raise InvalidParameterValueException(
                f"Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution "
                f"for function: {concurrency.reserved}.")
    else:
        account = account_pool(function.mesh)
        unreserved_after = account.unreserved_limit + concurrency.provisioned - total
        if unreserved_after < account.unreserved_minimum:
            raise InvalidParameterValueException(
                f"Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
                f"below its minimum value of [{account.unreserved_minimum}].")
    config = configs[qualifier] = ProvisionedConfig(requested, function.clock.now())
    apply(function)
    return config


def get_config(function: Any, qualifier: str) -> ProvisionedConfig:
    config = function.provisioned.get(qualifier)
    if config is None:
        raise ProvisionedConcurrencyConfigNotFoundException("No Provisioned Concurrency Config found for this function")
    return config


def delete_config(function: Any, qualifier: str) -> None:
    get_config(function, qualifier)
    del function.provisioned[qualifier]
    apply(function)


def apply(function: Any) -> None:
    """Give each version the provisioned environments its configs (its own, its aliases') ask
    for, and the function's pool their sum; after any config, alias or version change."""
    per_version: dict[str, int] = {}
    for qualifier, config in list(function.provisioned.items()):
        if not function.has_qualifier(qualifier):   # its alias or version was deleted
            del function.provisioned[qualifier]
            continue
        version = _version_of(function, qualifier)
        per_version[version] = per_version.get(version, 0) + config.requested
    for name, version in function.versions.items():
        version.envs.provision(per_version.get(name, 0))
    function.concurrency.set_provisioned(sum(per_version.values()))
    function.async_queue.pump()


def describe(function: Any, qualifier: str, config: ProvisionedConfig, *, with_arn: bool = False) -> dict[str, Any]:
    """The config as the API answers it (``FunctionArn`` in ListProvisionedConcurrencyConfigs)."""
    out: dict[str, Any] = {}
    if with_arn:
        out["FunctionArn"] = f"{function.arn}:{qualifier}"
    out.update(RequestedProvisionedConcurrentExecutions=config.requested,
               AvailableProvisionedConcurrentExecutions=config.requested,
               AllocatedProvisionedConcurrentExecutions=config.requested, Status=READY,
               LastModified=lambda_timestamp(config.modified))
    return out
