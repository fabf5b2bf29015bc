"""MD5 digests exactly as the SDKs verify them."""

from __future__ import annotations

import hashlib
import struct

from eventmesh.services.sqs.md5 import md5_of_attributes, md5_of_body


def test_body_digest_is_md5_of_utf8() -> None:
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert md5_of_body("héllo") == hashlib.md5("héllo".encode()).hexdigest()


def test_attribute_digests_match_the_values_aws_returns() -> None:
    # Digests AWS answers for these attributes, as pinned in public SQS test suites.
    for name, value, digest in [
        ("timestamp", "1493147359900", "235c5c510d26fb653d073faed50ae77c"),
        ("timestamp", "1493147359901", "994258b45346a2cc3f9cbb611aa7af30"),
        ("SOME_Valid.attribute-Name", "1493147359900", "36655e7e9d7c0e8479fa3f3f42247ae7"),
    ]:
        assert md5_of_attributes({name: {"DataType": "Number", "StringValue": value}}) == digest


def test_attributes_are_sorted_and_binary_uses_transport_type_two() -> None:
    attributes = {"b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                  "a": {"DataType": "String.custom", "StringValue": "x"}}

    def field(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    expected = (field(b"a") + field(b"String.custom") + b"\x01" + field(b"x")
                + field(b"b") + field(b"Binary") + b"\x02" + field(b"\x00\x01"))
    assert md5_of_attributes(attributes) == hashlib.md5(expected).hexdigest()
    # Base64 text (as some deliveries carry it) digests like the raw bytes.
    assert md5_of_attributes({**attributes, "b": {"DataType": "Binary", "BinaryValue": "AAE="}}) == \
        md5_of_attributes(attributes)


def test_no_attributes_means_no_digest() -> None:
    assert md5_of_attributes({}) is None
    assert md5_of_attributes(None) is None
