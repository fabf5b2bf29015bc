"""Mobile push: platform applications and their endpoints (device tokens) of an account.

Everything that decides what the mobile push operations answer lives here. A platform application
(``arn:aws:sns:<region>:<account>:app/<Platform>/<Name>``) holds the push service's credentials
(``PlatformCredential``, and ``PlatformPrincipal`` for every platform but GCM); its attributes are
shown without them, with ``Enabled`` and, for APNS and GCM, ``AuthenticationMethod``. An endpoint
(``...:endpoint/<Platform>/<Name>/<uuid>``) is one device token: CreatePlatformEndpoint is
idempotent for the same token and attributes, and a token already registered with other
attributes is ``Invalid parameter: Token Reason: Endpoint <arn> already exists with the same
Token, but different attributes.`` Publish to an endpoint is accepted (counted, not pushed: no
push service is reached, and credentials are not checked with one); to a disabled endpoint it is
``EndpointDisabled``. Deleting an application deletes its endpoints; both deletes are idempotent.
https://docs.aws.amazon.com/sns/latest/api/API_CreatePlatformApplication.html
https://docs.aws.amazon.com/sns/latest/api/API_GetPlatformApplicationAttributes.html
https://docs.aws.amazon.com/sns/latest/api/API_CreatePlatformEndpoint.html
https://docs.aws.amazon.com/sns/latest/api/API_ListPlatformApplications.html
https://docs.aws.amazon.com/sns/latest/dg/mobile-platform-endpoint.html
https://docs.aws.amazon.com/sns/latest/dg/mobile-push-api-error.html
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

from eventmesh.mesh import Mesh
from eventmesh.services.sns.errors import (
    EndpointDisabled,
    InvalidParameter,
    NotFound,
    invalid_attribute,
    invalid_parameter,
)

__all__ = ["PLATFORMS", "PlatformApplication", "PlatformEndpoint", "PlatformRegistry"]

PLATFORMS = ("ADM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU", "GCM", "MACOS",
             "MACOS_SANDBOX", "MPNS", "WNS")
NO_PRINCIPAL_PLATFORMS = frozenset({"GCM"})  # FCM needs only the credential (API key or key file)
SECRET_ATTRIBUTES = frozenset({"PlatformCredential", "PlatformPrincipal"})
APPLICATION_ATTRIBUTES = frozenset({
    "PlatformCredential", "PlatformPrincipal", "EventEndpointCreated", "EventEndpointDeleted",
    "EventEndpointUpdated", "EventDeliveryFailure", "SuccessFeedbackRoleArn", "FailureFeedbackRoleArn",
    "SuccessFeedbackSampleRate", "ApplePlatformTeamID", "ApplePlatformBundleID", "AuthenticationMethod"})
ENDPOINT_ATTRIBUTES = frozenset({"CustomUserData", "Enabled", "Token"})
PLATFORM_PAGE_SIZE = 100  # ListPlatformApplications / ListEndpointsByPlatformApplication page size
MAX_CUSTOM_USER_DATA_BYTES = 2048  # CustomUserData: UTF-8, up to 2 KB
_APPLICATION_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
APPLICATION_NAME_RULE = ("Application names must be made up of only uppercase and lowercase ASCII letters, "
                         "numbers, underscores, hyphens, and periods, and must be between 1 and 256 characters "
                         "long.")


class PlatformApplication:
    def __init__(self, arn: str, name: str, platform: str, attributes: Mapping[str, str]) -> None:
        self.arn = arn
        self.name = name
        self.platform = platform
        self.attributes = dict(attributes)

    def shown(self) -> dict[str, str]:
        """GetPlatformApplicationAttributes: every attribute but the credentials."""
        out = {"Enabled": "true"}
        if self.platform.startswith(("APNS", "MACOS")):
            token_based = "ApplePlatformTeamID" in self.attributes
            out["AuthenticationMethod"] = "Token" if token_based else "Certificate"
        elif self.platform == "GCM":
            credential = self.attributes.get("PlatformCredential", "")
            out["AuthenticationMethod"] = "Token" if credential.lstrip().startswith("{") else "Key"
        out.update({k: v for k, v in self.attributes.items() if k not in SECRET_ATTRIBUTES})
        return out


class PlatformEndpoint:
    def __init__(self, arn: str, application_arn: str, token: str, custom_user_data: str | None,
                 enabled: bool) -> None:
        self.arn = arn
        self.application_arn = application_arn
        self.token = token
        self.custom_user_data = custom_user_data
        self.enabled = enabled
        self.published = 0  # messages accepted for this device

    def attributes(self) -> dict[str, str]:
        """GetEndpointAttributes: ``Enabled``, ``Token`` and ``CustomUserData`` when set."""
        out = {"Enabled": "true" if self.enabled else "false", "Token": self.token}
        if self.custom_user_data:
            out["CustomUserData"] = self.custom_user_data
        return out


def _enabled(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise invalid_attribute("Enabled must be true or false")
    return value.lower() == "true"


def _page(items: list[str], token: str | None) -> tuple[list[str], str | None]:
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid_parameter("NextToken") from None
    end = start + PLATFORM_PAGE_SIZE
    return items[start:end], (base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None)


class PlatformRegistry:
    """``mesh.state(PlatformRegistry)``: an account's platform applications and endpoints."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.applications: dict[str, PlatformApplication] = {}
        self.endpoints: dict[str, PlatformEndpoint] = {}

    # -- applications ------------------------------------------------------------------------

    def create_application(self, name: str, platform: str, attributes: Mapping[str, str]) -> PlatformApplication:
        """CreatePlatformApplication; the same name and platform again updates it (same ARN)."""
        if not _APPLICATION_NAME.match(name):
            raise invalid_parameter("Name", APPLICATION_NAME_RULE)
        if platform not in PLATFORMS:
            raise invalid_parameter("Platform")
        self._check_application_attributes(attributes)
        if not attributes.get("PlatformCredential"):
            raise invalid_attribute("PlatformCredential attribute is required")
        if platform not in NO_PRINCIPAL_PLATFORMS and not attributes.get("PlatformPrincipal"):
            raise invalid_attribute("PlatformPrincipal attribute is required")
        arn = self.mesh.arn("sns", f"app/{platform}/{name}")
        existing = self.applications.get(arn)
        if existing is not None:
            existing.attributes.update(attributes)
            return existing
        application = PlatformApplication(arn, name, platform, attributes)
        self.applications[arn] = application
        return application

    @staticmethod
    def _check_application_attributes(attributes: Mapping[str, str]) -> None:
        for name in attributes:
            if name not in APPLICATION_ATTRIBUTES:
                raise invalid_attribute(f"Invalid attribute name: {name}")

    def application(self, arn: str) -> PlatformApplication:
        application = self.applications.get(arn)
        if application is None:
            raise NotFound("PlatformApplication does not exist")
        return application

    def set_application_attributes(self, arn: str, attributes: Mapping[str, str]) -> None:
        application = self.application(arn)
        self._check_application_attributes(attributes)
        application.attributes.update(attributes)

    def delete_application(self, arn: str) -> None:
        """DeletePlatformApplication: its endpoints go too; an unknown ARN is not an error."""
        if self.applications.pop(arn, None) is None:
            return
        for endpoint_arn in [e.arn for e in self.endpoints.values() if e.application_arn == arn]:
            del self.endpoints[endpoint_arn]

    def list_applications(self, token: str | None) -> tuple[list[PlatformApplication], str | None]:
        arns, more = _page(list(self.applications), token)
        return [self.applications[a] for a in arns], more

    # -- endpoints ---------------------------------------------------------------------------

    def create_endpoint(self, application_arn: str, token: str, custom_user_data: str | None,
                        attributes: Mapping[str, str]) -> PlatformEndpoint:
        """CreatePlatformEndpoint: idempotent for the same token and attributes."""
        application = self.application(application_arn)
        if not token:
            raise invalid_parameter("Token", "must not be empty")
        self._check_endpoint_attributes(attributes)
        user_data = attributes.get("CustomUserData", custom_user_data)
        enabled = _enabled(attributes.get("Enabled", "true"))
        for endpoint in self.endpoints.values():
            if endpoint.application_arn == application.arn and endpoint.token == token:
                if (endpoint.custom_user_data or None) == (user_data or None) and endpoint.enabled == enabled:
                    return endpoint
                raise invalid_parameter("Token", f"Endpoint {endpoint.arn} already exists with the same Token, "
                                        "but different attributes.")
        arn = self.mesh.arn("sns", f"endpoint/{application.platform}/{application.name}/{self.mesh.ids.uuid()}")
        endpoint = PlatformEndpoint(arn, application.arn, token, user_data, enabled)
        self.endpoints[arn] = endpoint
        return endpoint

    @staticmethod
    def _check_endpoint_attributes(attributes: Mapping[str, str]) -> None:
        for name, value in attributes.items():
            if name not in ENDPOINT_ATTRIBUTES:
                raise invalid_attribute(f"Invalid attribute name: {name}")
            if name == "CustomUserData" and len(value.encode()) > MAX_CUSTOM_USER_DATA_BYTES:
                raise invalid_attribute(f"CustomUserData must be at most {MAX_CUSTOM_USER_DATA_BYTES} bytes")

    def endpoint(self, arn: str) -> PlatformEndpoint:
        endpoint = self.endpoints.get(arn)
        if endpoint is None:
            raise NotFound("Endpoint does not exist")
        return endpoint

    def set_endpoint_attributes(self, arn: str, attributes: Mapping[str, str]) -> None:
        endpoint = self.endpoint(arn)
        self._check_endpoint_attributes(attributes)
        if "Token" in attributes:
            if not attributes["Token"]:
                raise invalid_attribute("Token must not be empty")
            endpoint.token = attributes["Token"]
        if "Enabled" in attributes:
            endpoint.enabled = _enabled(attributes["Enabled"])
        if "CustomUserData" in attributes:
            endpoint.custom_user_data = attributes["CustomUserData"]

    def delete_endpoint(self, arn: str) -> None:
        """DeleteEndpoint: idempotent."""
        self.endpoints.pop(arn, None)

    def list_endpoints(self, application_arn: str, token: str | None) -> tuple[list[PlatformEndpoint], str | None]:
        self.application(application_arn)
        arns, more = _page([e.arn for e in self.endpoints.values() if e.application_arn == application_arn], token)
        return [self.endpoints[a] for a in arns], more

    def publish(self, arn: str) -> None:
        """Publish to an endpoint (TargetArn): it must exist and be enabled."""
        endpoint = self.endpoints.get(arn)
        if endpoint is None:
            raise invalid_parameter("TargetArn", "No endpoint found for the target arn specified")
        if not endpoint.enabled:
            raise EndpointDisabled("Endpoint is disabled")
        endpoint.published += 1

    def check_subscribable(self, arn: str) -> None:
        """Subscribe with protocol ``application``: the endpoint must exist (AWS's message has no
        space between ``arn`` and the ARN)."""
        if arn not in self.endpoints:
            raise InvalidParameter(f"Invalid parameter: Endpoint Reason: Endpoint does not exist for endpoint arn{arn}")
