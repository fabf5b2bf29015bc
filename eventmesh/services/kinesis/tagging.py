"""Tags and resource-based policies of Kinesis resources: data streams and their enhanced
fan-out consumers.

AddTagsToStream / RemoveTagsFromStream / ListTagsForStream name a stream (by name or ARN);
TagResource / UntagResource / ListTagsForResource name a stream or a consumer by its ARN. A
resource has at most 50 tags; a key is 1–128 characters and may not start with ``aws:``, a value
0–256; both use Unicode letters, digits, white space and ``_ . : / = + - @``. Adding a key that
exists replaces its value; removing a key that is absent is not an error.
https://docs.aws.amazon.com/streams/latest/dev/tagging.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_TagResource.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_AddTagsToStream.html

PutResourcePolicy / GetResourcePolicy / DeleteResourcePolicy keep one policy document (JSON)
per stream or consumer. It is stored and answered, not enforced: every caller of the emulator is
the owner's account. A resource without a policy answers ``"{}"``.
https://docs.aws.amazon.com/streams/latest/dev/controlling-access.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutResourcePolicy.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from eventmesh.mesh import Mesh
from eventmesh.services.kinesis import consumers
from eventmesh.services.kinesis.errors import InvalidArgumentException
from eventmesh.services.kinesis.service import find_stream
from eventmesh.services.kinesis.stream import Stream

__all__ = ["MAX_TAGS_PER_RESOURCE", "NO_POLICY", "add_tags", "check_tags", "remove_tags", "resource", "set_policy"]

MAX_TAGS_PER_RESOURCE = 50
MAX_TAG_KEY_CHARS = 128
MAX_TAG_VALUE_CHARS = 256
RESERVED_TAG_PREFIX = "aws:"
NO_POLICY = "{}"  # GetResourcePolicy of a resource that has none
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


def resource(mesh: Mesh, arn: str, account_id: str) -> Stream | consumers.Consumer:
    """The stream or consumer at ``arn`` (ResourceNotFoundException when there is none)."""
    if "/consumer/" in arn:
        return consumers.describe_consumer(mesh, consumer_arn=arn)
    return find_stream(mesh, arn=arn, account_id=account_id)


def add_tags(target: Stream | consumers.Consumer, tags: Mapping[str, str]) -> None:
    """Add or replace ``tags``; nothing changes when any is invalid or the total passes 50."""
    check_tags(target.tags, tags, f"stream {target.name}" if isinstance(target, Stream) else f"consumer {target.name}")
    target.tags.update(tags)


def check_tags(current: Mapping[str, str], tags: Mapping[str, str], what: str) -> None:
    """InvalidArgumentException unless ``tags`` are valid and fit beside ``current`` on ``what``."""
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY_CHARS or not _TAG_TEXT.fullmatch(key):
            raise InvalidArgumentException(
                f"Tag key {key!r} must be 1 to {MAX_TAG_KEY_CHARS} Unicode letters, digits, white space "
                "or _ . : / = + - @.")
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            raise InvalidArgumentException(f"Tag key {key!r} uses the reserved prefix {RESERVED_TAG_PREFIX}.")
        if len(value) > MAX_TAG_VALUE_CHARS or not _TAG_TEXT.fullmatch(value):
            raise InvalidArgumentException(
                f"Tag value {value!r} must be at most {MAX_TAG_VALUE_CHARS} Unicode letters, digits, white "
                "space or _ . : / = + - @.")
    if len(current.keys() | tags.keys()) > MAX_TAGS_PER_RESOURCE:
        raise InvalidArgumentException(
            f"Failed to add tags to {what}: a resource can have at most {MAX_TAGS_PER_RESOURCE} tags.")


def remove_tags(target: Stream | consumers.Consumer, keys: Iterable[str]) -> None:
    for key in keys:
        target.tags.pop(key, None)


def set_policy(target: Stream | consumers.Consumer, policy: str | None) -> None:
    """PutResourcePolicy (a JSON object) or, with None, DeleteResourcePolicy."""
    if policy is not None:
        try:
            document = json.loads(policy)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise InvalidArgumentException("Policy is not a valid JSON document.")
    target.policy = policy
