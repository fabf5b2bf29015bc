"""CBOR codec: RFC 8949 Appendix A vectors as data, AWS's millisecond tag-1 timestamps, blobs."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from eventmesh.wire.protocols.cbor import CBORDecodeError, Tag, decode, encode

# (value, hex) pairs from RFC 8949 Appendix A that this codec both encodes and decodes exactly.
ROUND_TRIP = [
    (0, "00"), (1, "01"), (10, "0a"), (23, "17"), (24, "1818"), (25, "1819"), (100, "1864"),
    (1000, "1903e8"), (1000000, "1a000f4240"), (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"), (18446744073709551616, "c249010000000000000000"),
    (-18446744073709551616, "3bffffffffffffffff"), (-18446744073709551617, "c349010000000000000000"),
    (-1, "20"), (-10, "29"), (-100, "3863"), (-1000, "3903e7"),
    (1.1, "fb3ff199999999999a"), (1.0e300, "fb7e37e43c8800759c"), (-4.1, "fbc010666666666666"),
    (False, "f4"), (True, "f5"), (None, "f6"),
    (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"), ("a", "6161"), ("IETF", "6449455446"), ("\"\\", "62225c"), ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"), ("\U00010151", "64f0908591"),
    ([], "80"), ([1, 2, 3], "83010203"), ([1, [2, 3], [4, 5]], "8301820203820405"),
    (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
    ({"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}, "a56161614161626142616361436164614461656145"),
    (Tag(23, b"\x01\x02\x03\x04"), "d74401020304"), (Tag(32, "http://www.example.com"),
                                                      "d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
]

# Encodings only a decoder meets: half/single floats, indefinite lengths, undefined, map int keys.
DECODE_ONLY = [
    ("f90000", 0.0), ("f98000", -0.0), ("f93c00", 1.0), ("f93e00", 1.5), ("f97bff", 65504.0),
    ("fa47c35000", 100000.0), ("fa7f7fffff", 3.4028234663852886e38), ("f90001", 5.960464477539063e-8),
    ("f97c00", math.inf), ("f9fc00", -math.inf), ("f7", None),
    ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"), ("7f657374726561646d696e67ff", "streaming"),
    ("9fff", []), ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
    ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}), ("826161bf61626163ff", ["a", {"b": "c"}]),
    ("bf6346756ef563416d7421ff", {"Fun": True, "Amt": -2}), ("a201020304", {1: 2, 3: 4}),
]


@pytest.mark.parametrize("value, hexed", ROUND_TRIP)
def test_rfc_8949_vectors_encode_and_decode(value, hexed):
    assert encode(value).hex() == hexed
    assert decode(bytes.fromhex(hexed)) == value


@pytest.mark.parametrize("hexed, value", DECODE_ONLY)
def test_rfc_8949_vectors_decode(hexed, value):
    decoded = decode(bytes.fromhex(hexed))
    assert decoded == value and type(decoded) is type(value)


def test_nan_decodes_from_half_single_and_double():
    for hexed in ("f97e00", "fa7fc00000", "fb7ff8000000000000"):
        assert math.isnan(decode(bytes.fromhex(hexed)))


def test_tag_1_is_epoch_milliseconds_as_aws_sdks_write_it():
    # What the Java SDK v2 sends for GetShardIterator(Timestamp=...): tag 1 + uint64 epoch ms.
    body = bytes.fromhex("a16954696d657374616d70c11b000001a013accc38")
    assert decode(body) == {"Timestamp": datetime(2026, 8, 18, 7, 1, 26, 712000, tzinfo=UTC)}


def test_datetime_encodes_as_tag_1_with_integer_milliseconds():
    at = datetime(2018, 12, 17, 22, 10, 50, 987000, tzinfo=UTC)
    assert encode(at).hex() == "c11b00000167be38c5eb"   # 1545084650987 ms
    assert decode(encode({"ApproximateArrivalTimestamp": at})) == {"ApproximateArrivalTimestamp": at}


def test_rfc_seconds_reading_is_available():
    expected = datetime(2013, 3, 21, 20, 4, tzinfo=UTC)
    assert decode(bytes.fromhex("c11a514b67b0"), millis=False) == expected
    assert decode(bytes.fromhex("c074") + b"2013-03-21T20:04:00Z") == expected


def test_a_kinesis_put_records_request_round_trips_with_raw_blobs():
    request = {"StreamName": "orders", "Records": [
        {"Data": b"\x00\xffbinary", "PartitionKey": "k1"},
        {"Data": b"{}", "PartitionKey": "k2", "ExplicitHashKey": "0"},
    ]}
    encoded = encode(request)
    assert b"\x48\x00\xffbinary" in encoded   # an 8-byte byte string, not base64 text
    assert decode(encoded) == request


def test_error_body_encodes_type_and_message():
    body = encode({"__type": "ResourceNotFoundException", "message": "Stream s under account 1 not found."})
    assert decode(body)["__type"] == "ResourceNotFoundException"


@pytest.mark.parametrize("hexed", ["", "18", "1900", "62c3", "8301", "a16161", "5f4101", "ff", "1c", "f8ff",
                                   "5f6161ff", "0000"])
def test_malformed_input_is_a_decode_error(hexed):
    with pytest.raises(CBORDecodeError):
        decode(bytes.fromhex(hexed))


def test_a_repeated_map_key_keeps_the_last_value():
    assert decode(bytes.fromhex("a2616101616102")) == {"a": 2}
    assert decode(bytes.fromhex("bf616101616102ff")) == {"a": 2}


def test_deep_nesting_is_refused():
    with pytest.raises(CBORDecodeError, match="deeply"):
        decode(b"\x81" * 1000 + b"\x00")


def test_unencodable_type_is_a_type_error():
    with pytest.raises(TypeError):
        encode({"x": object()})
