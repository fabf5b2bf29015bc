"""Code signing configurations: which signing profiles a function's code must come from, and what
Lambda does with a package that no allowed profile signed (``Warn`` or ``Enforce``).

CreateCodeSigningConfig makes one (id ``csc-`` and 17 hex digits; the policy ``Warn`` unless
given), Get/Update/List/Delete manage it, PutFunctionCodeSigningConfig (or CreateFunction's
``CodeSigningConfigArn``) attaches it to a function, and a configuration a function uses cannot be
deleted. eventmesh has no AWS Signer: no package carries a signature and none is checked, so a
configuration is kept and answered, and code deploys under ``Enforce`` as under ``Warn`` (Lambda
refuses unsigned code under ``Enforce``: docs/aws-behaviour.md).
https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html
https://docs.aws.amazon.com/lambda/latest/api/API_CreateCodeSigningConfig.html
"""

from __future__ import annotations

from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.lambda_.configuration import lambda_timestamp
from eventmesh.services.lambda_.errors import (
    CodeSigningConfigNotFoundException,
    ResourceConflictException,
    ResourceNotFoundException,
)

__all__ = ["DEFAULT_UNTRUSTED_ARTIFACT_POLICY", "CodeSigningConfig", "CodeSigningConfigs", "code_signing_configs"]

DEFAULT_UNTRUSTED_ARTIFACT_POLICY = "Warn"
CONFIG_ID_PREFIX = "csc-"
CONFIG_ID_HEX_DIGITS = 17


class CodeSigningConfig:
    """One configuration: its allowed signing profiles and its policy for unsigned code."""

    def __init__(self, arn: str, config_id: str, description: str, publishers: dict[str, Any],
                 policies: dict[str, Any], now: float) -> None:
        self.arn = arn
        self.id = config_id
        self.description = description
        self.publishers = publishers
        self.policies = policies
        self.modified = now

    def describe(self) -> dict[str, Any]:
        return {"CodeSigningConfigId": self.id, "CodeSigningConfigArn": self.arn, "Description": self.description,
                "AllowedPublishers": self.publishers, "CodeSigningPolicies": self.policies,
                "LastModified": lambda_timestamp(self.modified)}


class CodeSigningConfigs:
    """The configurations of one account and Region (``Mesh.state``), by ARN."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.by_arn: dict[str, CodeSigningConfig] = {}

    def create(self, publishers: dict[str, Any], policies: dict[str, Any] | None,
               description: str) -> CodeSigningConfig:
        digits = self.mesh.ids.random.getrandbits(4 * CONFIG_ID_HEX_DIGITS)
        config_id = f"{CONFIG_ID_PREFIX}{digits:0{CONFIG_ID_HEX_DIGITS}x}"
        arn = self.mesh.arn("lambda", f"code-signing-config:{config_id}")
        config = CodeSigningConfig(arn, config_id, description, publishers,
                                   {"UntrustedArtifactOnDeployment": DEFAULT_UNTRUSTED_ARTIFACT_POLICY,
                                    **(policies or {})}, self.mesh.clock.now())
        self.by_arn[arn] = config
        return config

    def get(self, arn: str) -> CodeSigningConfig:
        """Get/Update/Delete: a configuration that is not there is ResourceNotFoundException."""
        config = self.by_arn.get(arn)
        if config is None:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return config

    def require(self, arn: str) -> CodeSigningConfig:
        """A function attaching ``arn``: CodeSigningConfigNotFoundException when it is not there."""
        config = self.by_arn.get(arn)
        if config is None:
            raise CodeSigningConfigNotFoundException("The specified code signing configuration does not exist.")
        return config

    def update(self, arn: str, publishers: dict[str, Any] | None, policies: dict[str, Any] | None,
               description: str | None) -> CodeSigningConfig:
        config = self.get(arn)
        if publishers is not None:
            config.publishers = publishers
        if policies is not None:
            config.policies = {**config.policies, **policies}
        if description is not None:
            config.description = description
        config.modified = self.mesh.clock.now()
        return config

    def users(self, arn: str, functions: list[Any]) -> list[str]:
        """The ARNs of the functions (of ``functions``) that use the configuration."""
        return [fn.arn for fn in functions if fn.code_signing_config_arn == arn]

    def delete(self, arn: str, functions: list[Any]) -> None:
        self.get(arn)
        using = self.users(arn, functions)
        if using:
            raise ResourceConflictException(
                f"The code signing configuration cannot be deleted because it is used by the following functions: "
                f"[{', '.join(using)}]")
        del self.by_arn[arn]


def code_signing_configs(mesh: Mesh) -> CodeSigningConfigs:
    return mesh.state(CodeSigningConfigs)
