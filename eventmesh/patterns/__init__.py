"""The EventBridge pattern language and SNS filter policies: parse -> validate -> compile -> match.

    >>> from eventmesh.patterns import compile_pattern
    >>> compile_pattern('{"source": ["aws.ec2"]}').matches('{"source": "aws.ec2"}')
    True

Public API: compile_pattern / Pattern, compile_filter_policy / FilterPolicy, RuleSet (many rules,
one pass per event), test_event_pattern (EventBridge TestEventPattern), InvalidPatternError and
InvalidEventError (``.code`` and ``.message`` as AWS answers them); raw_json / decoded_detail
/ envelope_json (an event's Detail kept as its JSON text, which the compiled engine reads as such). The
language is described in PATTERNS.md beside this file.
"""

from eventmesh.patterns._errors import InvalidEventError, InvalidPatternError
from eventmesh.patterns._rules import (
    FilterPolicy,
    Pattern,
    RuleSet,
    compile_filter_policy,
    compile_pattern,
    test_event_pattern,
)
from eventmesh.patterns._text import decoded_detail, envelope_json, raw_json

__all__ = [
    "compile_pattern",
    "compile_filter_policy",
    "test_event_pattern",
    "Pattern",
    "FilterPolicy",
    "RuleSet",
    "InvalidPatternError",
    "InvalidEventError",
    "raw_json",
    "decoded_detail",
    "envelope_json",
]
