"""SMS settings of an account: phone number checks, the opted-out list and the SMS attributes.

SMS messages are accepted and not delivered (no carrier is modelled). Publish to a ``PhoneNumber``
that is not E.164 (``+`` optional, up to 15 digits) is ``Invalid parameter: PhoneNumber Reason:
<n> is not valid to publish to``. The opted-out list starts empty (numbers opt out by replying
STOP to a real carrier); OptInPhoneNumber takes one off it. SetSMSAttributes keeps the account's
defaults (``DefaultSMSType`` Promotional or Transactional).
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
https://docs.aws.amazon.com/sns/latest/api/API_CheckIfPhoneNumberIsOptedOut.html
https://docs.aws.amazon.com/sns/latest/api/API_ListPhoneNumbersOptedOut.html
https://docs.aws.amazon.com/sns/latest/api/API_SetSMSAttributes.html
"""

from __future__ import annotations

import re

from eventmesh.mesh import Mesh
from eventmesh.services.sns.errors import InvalidParameter, invalid_parameter

__all__ = ["SmsSettings", "check_publish_number", "valid_phone_number"]

SMS_TYPES = ("Promotional", "Transactional")  # DefaultSMSType
OPTED_OUT_PAGE_SIZE = 100
_E164 = re.compile(r"^\+?[1-9][0-9]{1,14}$")


def valid_phone_number(number: str) -> bool:
    return _E164.match(number) is not None


def check_publish_number(number: str) -> None:
    if not valid_phone_number(number):
        raise invalid_parameter("PhoneNumber", f"{number} is not valid to publish to")


class SmsSettings:
    """``mesh.state(SmsSettings)``: the account's opted-out numbers and SMS attributes."""

    def __init__(self, mesh: Mesh) -> None:
        self.opted_out: list[str] = []
        self.attributes: dict[str, str] = {}

    def is_opted_out(self, number: str) -> bool:
        """CheckIfPhoneNumberIsOptedOut."""
        if not valid_phone_number(number):
            raise InvalidParameter("Invalid parameter: PhoneNumber Reason: input incorrectly formatted")
        return number in self.opted_out

    def opt_in(self, number: str) -> None:
        """OptInPhoneNumber: the number may receive SMS again."""
        if not valid_phone_number(number):
            raise InvalidParameter("Invalid parameter: PhoneNumber Reason: input incorrectly formatted")
        if number in self.opted_out:
            self.opted_out.remove(number)

    def list_opted_out(self, token: str | None) -> tuple[list[str], str | None]:
        """ListPhoneNumbersOptedOut: 100 a page."""
        start = 0
        if token:
            if not token.isdigit():
                raise invalid_parameter("NextToken")
            start = int(token)
        end = start + OPTED_OUT_PAGE_SIZE
        return self.opted_out[start:end], (str(end) if end < len(self.opted_out) else None)

    def set_attributes(self, attributes: dict[str, str]) -> None:
        """SetSMSAttributes."""
        kind = attributes.get("DefaultSMSType")
        if kind is not None and kind not in SMS_TYPES:
            raise invalid_parameter("DefaultSMSType")
        self.attributes.update(attributes)

    def get_attributes(self, names: list[str] | None) -> dict[str, str]:
        """GetSMSAttributes: the named ones that are set, or all."""
        if not names:
            return dict(self.attributes)
        return {name: self.attributes[name] for name in names if name in self.attributes}
