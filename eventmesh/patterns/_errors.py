"""The one error the pattern engine raises: a pattern or filter policy the service rejects.

EventBridge answers ``InvalidEventPatternException`` with ``Event pattern is not valid. Reason: <reason>``;
SNS answers ``InvalidParameter`` with ``Invalid parameter: FilterPolicy: <reason>``
on SetSubscriptionAttributes and ``Invalid parameter: Attributes Reason: FilterPolicy: <reason>`` on
Subscribe. Service adapters re-raise it as their own ServiceError using ``code`` and
``message`` (or ``subscribe_message``).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
"""

from __future__ import annotations

__all__ = ["InvalidPatternError", "InvalidEventError", "EVENTBRIDGE_CODE", "SNS_CODE"]

EVENTBRIDGE_CODE = "InvalidEventPatternException"
SNS_CODE = "InvalidParameter"
_EVENTBRIDGE_PREFIX = "Event pattern is not valid. Reason: "
_SNS_PREFIX = "Invalid parameter: FilterPolicy: "
_SNS_SUBSCRIBE_PREFIX = "Invalid parameter: Attributes Reason: FilterPolicy: "


class InvalidPatternError(ValueError):
    """A pattern AWS rejects. ``code`` is the AWS error code, ``message`` the text AWS answers,
    ``reason`` the part after the service's prefix."""

    def __init__(self, code: str, reason: str, message: str | None = None) -> None:
        if message is None:
            prefix = _EVENTBRIDGE_PREFIX if code == EVENTBRIDGE_CODE else _SNS_PREFIX
            message = prefix + reason
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    @property
    def subscribe_message(self) -> str:
        """The wording SNS uses when the policy came with ``Subscribe`` (Attributes map)."""
        if self.code == SNS_CODE and self.message.startswith(_SNS_PREFIX):
            return _SNS_SUBSCRIBE_PREFIX + self.reason
        return self.message

    def __repr__(self) -> str:
        return f"InvalidPatternError({self.code!r}, {self.message!r})"


class PatternSyntaxError(Exception):
    """Internal: raised by the reader and the compiler with a flavour-neutral reason; the public
    entry points turn it into InvalidPatternError with the right code and prefix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidEventError(ValueError):
    """TestEventPattern's answer to an event that is not a full EventBridge envelope:
    ``ValidationException`` ``Parameter Event is not valid.``"""

    code = "ValidationException"

    def __init__(self, message: str = "Parameter Event is not valid.") -> None:
        super().__init__(message)
        self.message = message
