"""SMS settings of an account: phone number checks, the opted-out list and the SMS attributes.

SMS messages are accepted and not delivered (no carrier is modelled). Publish to a ``PhoneNumber``
that is not E.164 (``+`` optional, up to 15 digits) is ``Invalid parameter: PhoneNumber Reason:
<n> is not valid to publish to``. The opted-out list starts empty (numbers opt out by replying
STOP to a real carrier); OptInPhoneNumber takes one off it. SetSMSAttributes keeps the account's
defaults (``DefaultSMSType`` Promotional or Transactional).

The account is in the SMS sandbox (as a new AWS account is): CreateSMSSandboxPhoneNumber adds a
``Pending`` destination and "sends" it a one-time password (kept in ``SandboxNumber.otp``: no SMS
is delivered), VerifySMSSandboxPhoneNumber with that password makes it ``Verified``, a wrong one
is ``VerificationException``. Sending is not restricted to verified numbers. No origination
numbers are owned.
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
https://docs.aws.amazon.com/sns/latest/api/API_CheckIfPhoneNumberIsOptedOut.html
https://docs.aws.amazon.com/sns/latest/api/API_ListPhoneNumbersOptedOut.html
https://docs.aws.amazon.com/sns/latest/api/API_SetSMSAttributes.html
https://docs.aws.amazon.com/sns/latest/dg/sns-sms-sandbox.html
https://docs.aws.amazon.com/sns/latest/api/API_VerifySMSSandboxPhoneNumber.html
"""

from __future__ import annotations

import base64
import re

from eventmesh.mesh import Mesh
from eventmesh.services.sns.errors import (
    InvalidParameter,
    OptedOut,
    ResourceNotFound,
    ValidationError,
    VerificationException,
    invalid_parameter,
)

__all__ = ["SandboxNumber", "SmsSettings", "check_publish_number", "check_sandbox_number", "valid_phone_number"]

SMS_TYPES = ("Promotional", "Transactional")  # DefaultSMSType
OPTED_OUT_PAGE_SIZE = 100
_E164 = re.compile(r"^\+?[1-9][0-9]{1,14}$")
# The model's patterns for the sandbox operations (the wire layer checks lengths, not patterns).
SANDBOX_NUMBER_PATTERN = r"^(\+[0-9]{8,}|[0-9]{0,9})$"
OTP_PATTERN = r"^[0-9]+$"
_SANDBOX_NUMBER = re.compile(SANDBOX_NUMBER_PATTERN)
_OTP = re.compile(OTP_PATTERN)
OTP_DIGITS = 6  # the one-time password SNS texts to a sandbox destination
DEFAULT_SANDBOX_PAGE_SIZE = 100  # ListSMSSandboxPhoneNumbers MaxResults (1-100)


def _pattern_error(path: str, shown: str | None, pattern: str) -> ValidationError:
    """AWS's model-violation message; a sensitive member's value (a phone number) is not shown."""
    value = "Value" if shown is None else f"Value '{shown}'"
    return ValidationError(f"1 validation error detected: {value} at '{path}' failed to satisfy constraint: "
                           f"Member must satisfy regular expression pattern: {pattern}")


def check_sandbox_number(number: str) -> None:
    if not _SANDBOX_NUMBER.match(number):
        raise _pattern_error("phoneNumber", None, SANDBOX_NUMBER_PATTERN)


class SandboxNumber:
    """A destination phone number of the SMS sandbox: ``Pending`` until verified."""

    def __init__(self, number: str, language: str, otp: str) -> None:
        self.number = number
        self.language = language
        self.otp = otp
        self.status = "Pending"


def valid_phone_number(number: str) -> bool:
    return _E164.match(number) is not None


def check_publish_number(number: str) -> None:
    if not valid_phone_number(number):
        raise invalid_parameter("PhoneNumber", f"{number} is not valid to publish to")


class SmsSettings:
    """``mesh.state(SmsSettings)``: the account's opted-out numbers and SMS attributes."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.opted_out: list[str] = []
        self.attributes: dict[str, str] = {}
        self.sandbox: dict[str, SandboxNumber] = {}

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

    # -- the SMS sandbox ---------------------------------------------------------------------

    def add_sandbox_number(self, number: str, language: str | None) -> SandboxNumber:
        """CreateSMSSandboxPhoneNumber: a (new) one-time password is sent; the number is Pending
        until verified again."""
        check_sandbox_number(number)
        if number in self.opted_out:
            raise OptedOut(f"Phone number {number} is opted out")
        otp = "".join(str(self.mesh.ids.random.randrange(10)) for _ in range(OTP_DIGITS))
        entry = self.sandbox.get(number)
        if entry is None or entry.status != "Verified":
            entry = self.sandbox[number] = SandboxNumber(number, language or "en-US", otp)
        return entry

    def _sandbox_number(self, number: str) -> SandboxNumber:
        entry = self.sandbox.get(number)
        if entry is None:
            raise ResourceNotFound(f"Phone number {number} is not in the SMS sandbox")
        return entry

    def verify_sandbox_number(self, number: str, otp: str) -> None:
        check_sandbox_number(number)
        if not _OTP.match(otp):
            raise _pattern_error("oneTimePassword", otp, OTP_PATTERN)
        entry = self._sandbox_number(number)
        if entry.status == "Verified":
            return
        if otp != entry.otp:
            raise VerificationException("Invalid one-time password")
        entry.status = "Verified"

    def delete_sandbox_number(self, number: str) -> None:
        check_sandbox_number(number)
        self._sandbox_number(number)
        del self.sandbox[number]

    def list_sandbox_numbers(self, token: str | None, limit: int | None) -> tuple[list[SandboxNumber], str | None]:
        numbers = list(self.sandbox.values())
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise invalid_parameter("NextToken") from None
        end = start + (limit or DEFAULT_SANDBOX_PAGE_SIZE)
        more = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(numbers) else None
        return numbers[start:end], more
