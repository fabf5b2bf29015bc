"""CBOR (RFC 8949), the subset AWS's ``application/x-amz-cbor-1.1`` uses (Kinesis from the AWS SDK
for Java v1/v2, the KPL and the KCL): maps, arrays, text and byte strings, integers, floats,
booleans, null, and tag 1 timestamps. Two pure functions: :func:`encode` and :func:`decode`.

Mapping to Python:

* map ↔ ``dict``, array ↔ ``list`` (tuples encode as arrays), text ↔ ``str``, byte string ↔
  ``bytes`` (blobs such as ``Data`` travel as raw bytes, never base64), int ↔ ``int`` (past
  64 bits: bignum tags 2/3), float ↔ ``float`` (encoded as float64; half/single/double decode),
  true/false ↔ ``bool``, null/undefined → ``None``.
* **Timestamps.** AWS breaks RFC 8949 §3.4.2 here: tag 1 carries epoch **milliseconds** as an
  integer, in requests (SDK v2 ``SdkCborGenerator`` writes ``instant.toEpochMilli()``) and in
  responses (the SDK reads payload timestamps as ``UNIX_TIMESTAMP_MILLIS`` and parses them as a
  long, so a float such as ``1.6E12`` fails). So tag 1 decodes to an aware UTC ``datetime``
  (its number read as ms) and a ``datetime`` encodes as tag 1 + integer ms. ``millis=False``
  gives the RFC reading (seconds) for other CBOR protocols. Other tags decode to :class:`Tag`.
* Indefinite-length strings, arrays and maps (Jackson's CBOR generator writes maps that way)
  decode like definite ones; :func:`encode` always writes definite lengths.
* msgspec Structs encode as maps of their encoded field names.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["encode", "decode", "Tag", "CBORDecodeError", "CONTENT_TYPE", "EPOCH_TAG"]

CONTENT_TYPE = "application/x-amz-cbor-1.1"
EPOCH_TAG = 1              # RFC 8949 §3.4.2 epoch-based date/time (AWS: milliseconds)
_DATETIME_TAG = 0          # RFC 8949 §3.4.1 RFC 3339 text
_POS_BIGNUM, _NEG_BIGNUM = 2, 3
MAX_DEPTH = 256            # nesting a request may use before it is refused (recursion guard)

_UINT, _NINT, _BYTES, _TEXT, _ARRAY, _MAP, _TAG, _SIMPLE = range(8)
_BREAK = 0xFF
_FALSE, _TRUE, _NULL = b"\xf4", b"\xf5", b"\xf6"
_UTC = UTC


class Tag(msgspec.Struct, frozen=True):
    """A tagged item this codec does not map to a Python type (or one to encode as given)."""

    tag: int
    value: Any


class CBORDecodeError(ValueError):
    """The body is not well-formed CBOR (the protocol layer answers SerializationException)."""


# -- encoding ------------------------------------------------------------------------------------

def encode(obj: Any, *, millis: bool = True) -> bytes:
    """Encode ``obj`` as CBOR (definite lengths, shortest integer heads, float64 floats)."""
    out = bytearray()
    _encode(obj, out, millis)
    return bytes(out)


def _head(major: int, n: int, out: bytearray) -> None:
    if n < 24:
        out.append(major << 5 | n)
    elif n < 0x100:
        out.append(major << 5 | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(major << 5 | 25)
        out += n.to_bytes(2, "big")
    elif n < 0x1_0000_0000:
        out.append(major << 5 | 26)
        out += n.to_bytes(4, "big")
    else:
        out.append(major << 5 | 27)
        out += n.to_bytes(8, "big")


def _encode(obj: Any, out: bytearray, millis: bool) -> None:
    kind = type(obj)
    if kind is str:
        raw = obj.encode()
        _head(_TEXT, len(raw), out)
        out += raw
    elif kind is dict:
        _head(_MAP, len(obj), out)
        for key, value in obj.items():
            _encode(key, out, millis)
            _encode(value, out, millis)
    elif kind is list or kind is tuple:
        _head(_ARRAY, len(obj), out)
        for item in obj:
            _encode(item, out, millis)
    elif kind is bool:
        out += _TRUE if obj else _FALSE
    elif kind is int:
        _encode_int(obj, out)
    elif kind is float:
        out.append(0xFB)
        out += struct.pack(">d", obj)
    elif kind is bytes or kind is bytearray or kind is memoryview:
        _head(_BYTES, len(obj), out)
        out += obj
    elif obj is None:
        out += _NULL
    elif isinstance(obj, datetime):
        seconds = (obj if obj.tzinfo else obj.replace(tzinfo=_UTC)).timestamp()
        _head(_TAG, EPOCH_TAG, out)
        _encode(round(seconds * 1000) if millis else seconds, out, millis)
    elif kind is Tag:
        _head(_TAG, obj.tag, out)
        _encode(obj.value, out, millis)
    elif isinstance(obj, msgspec.Struct):
        _encode(msgspec.to_builtins(obj, builtin_types=(bytes, bytearray, datetime)), out, millis)
    elif isinstance(obj, int):            # IntEnum and friends
        _encode_int(int(obj), out)
    elif isinstance(obj, str):
        _encode(str(obj), out, millis)
    else:
        raise TypeError(f"cannot encode {kind.__name__} as CBOR")


def _encode_int(value: int, out: bytearray) -> None:
    major, n = (_UINT, value) if value >= 0 else (_NINT, -1 - value)
    if n < 1 << 64:
        _head(major, n, out)
    else:
        _head(_TAG, _POS_BIGNUM if major == _UINT else _NEG_BIGNUM, out)
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        _head(_BYTES, len(raw), out)
        out += raw


# -- decoding ------------------------------------------------------------------------------------

def decode(data: bytes | bytearray | memoryview, *, millis: bool = True) -> Any:
    """Decode exactly one CBOR item; CBORDecodeError if malformed or followed by extra bytes."""
    buf = bytes(data)
    try:
        value, end = _Decoder(buf, millis).item(0, 0)
    except (IndexError, struct.error):
        raise CBORDecodeError("truncated CBOR item") from None
    except (UnicodeDecodeError, OverflowError, ValueError) as exc:
        if isinstance(exc, CBORDecodeError):
            raise
        raise CBORDecodeError(f"malformed CBOR: {exc}") from None
    if end != len(buf):
        raise CBORDecodeError(f"{len(buf) - end} bytes after the CBOR item")
    return value


class _Decoder:
    __slots__ = ("buf", "millis")

    def __init__(self, buf: bytes, millis: bool) -> None:
        self.buf = buf
        self.millis = millis

    def _argument(self, info: int, pos: int) -> tuple[int, int]:
        """The head's argument (a length or value) and the position after it."""
        if info < 24:
            return info, pos
        if info > 27:
            raise CBORDecodeError(f"reserved additional information {info}")
        size = 1 << (info - 24)
        end = pos + size
        if end > len(self.buf):
            raise IndexError
        return int.from_bytes(self.buf[pos:end], "big"), end

    def item(self, pos: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise CBORDecodeError("CBOR nested too deeply")
        buf = self.buf
        initial = buf[pos]
        major, info = initial >> 5, initial & 0x1F
        pos += 1
        if major == _SIMPLE:
            return self._simple(info, pos)
        if info == 31:
            return self._indefinite(major, pos, depth)
        n, pos = self._argument(info, pos)
        if major == _UINT:
            return n, pos
        if major == _NINT:
            return -1 - n, pos
        if major == _BYTES or major == _TEXT:
            end = pos + n
            if end > len(buf):
                raise IndexError
            raw = buf[pos:end]
            return (raw if major == _BYTES else raw.decode()), end
        if major == _ARRAY:
            return self._array(pos, n, depth)
        if major == _MAP:
            return self._map(pos, n, depth)
        value, pos = self.item(pos, depth + 1)
        return self._tagged(n, value), pos

    # Containers decode their string and small-integer members inline (no call per leaf): a
    # PutRecords batch is 500 maps of short strings and byte strings, and a call per item
    # doubled the decode time. ``count`` −1 means an indefinite length ended by a break.

    def _array(self, pos: int, count: int, depth: int) -> tuple[list[Any], int]:
        buf, size, item = self.buf, len(self.buf), self.item
        items: list[Any] = []
        while count != len(items):
            head = buf[pos]
            if head == _BREAK and count < 0:
                return items, pos + 1
            major = head >> 5
            if (major == _BYTES or major == _TEXT) and head & 0x1F <= 24:
                start, length = (pos + 2, buf[pos + 1]) if head & 0x1F == 24 else (pos + 1, head & 0x1F)
                pos = start + length
                if pos > size:
                    raise IndexError
                items.append(buf[start:pos] if major == _BYTES else buf[start:pos].decode())
            elif head < 0x18:
                items.append(head)
                pos += 1
            else:
                value, pos = item(pos, depth + 1)
                items.append(value)
        return items, pos

    def _map(self, pos: int, count: int, depth: int) -> tuple[dict[Any, Any], int]:
        buf, size, item = self.buf, len(self.buf), self.item
        mapping: dict[Any, Any] = {}
        key: Any = None
        done = 0   # pairs read (a repeated key does not grow the dict)
        while count != done:
            done += 1
            for slot in (0, 1):
                head = buf[pos]
                if head == _BREAK and count < 0 and slot == 0:
                    return mapping, pos + 1
                major = head >> 5
                if (major == _BYTES or major == _TEXT) and head & 0x1F <= 24:
                    start, length = (pos + 2, buf[pos + 1]) if head & 0x1F == 24 else (pos + 1, head & 0x1F)
                    pos = start + length
                    if pos > size:
                        raise IndexError
                    value: Any = buf[start:pos] if major == _BYTES else buf[start:pos].decode()
                elif head < 0x18:
                    value = head
                    pos += 1
                else:
                    value, pos = item(pos, depth + 1)
                if slot == 0:
                    key = _hashable(value)
                else:
                    mapping[key] = value
        return mapping, pos

    def _simple(self, info: int, pos: int) -> tuple[Any, int]:
        buf = self.buf
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info == 22 or info == 23:
            return None, pos
        if info == 25:
            return struct.unpack(">e", buf[pos:pos + 2])[0], pos + 2
        if info == 26:
            return struct.unpack(">f", buf[pos:pos + 4])[0], pos + 4
        if info == 27:
            return struct.unpack(">d", buf[pos:pos + 8])[0], pos + 8
        if info == 31:
            raise CBORDecodeError("unexpected break")
        raise CBORDecodeError(f"unsupported simple value {info}")

    def _indefinite(self, major: int, pos: int, depth: int) -> tuple[Any, int]:
        buf = self.buf
        if major == _BYTES or major == _TEXT:
            chunks = []
            while buf[pos] != _BREAK:
                if buf[pos] >> 5 != major:
                    raise CBORDecodeError("indefinite string chunk of another type")
                chunk, pos = self.item(pos, depth + 1)
                chunks.append(chunk)
            return (b"".join(chunks) if major == _BYTES else "".join(chunks)), pos + 1
        if major == _ARRAY:
            return self._array(pos, -1, depth)
        if major == _MAP:
            return self._map(pos, -1, depth)
        raise CBORDecodeError(f"major type {major} cannot have an indefinite length")

    def _tagged(self, tag: int, value: Any) -> Any:
        if tag == EPOCH_TAG and type(value) in (int, float):
            return datetime.fromtimestamp(value / 1000 if self.millis else value, _UTC)
        if tag == _DATETIME_TAG and type(value) is str:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if tag == _POS_BIGNUM and type(value) is bytes:
            return int.from_bytes(value, "big")
        if tag == _NEG_BIGNUM and type(value) is bytes:
            return -1 - int.from_bytes(value, "big")
        return Tag(tag, value)


def _hashable(key: Any) -> Any:
    if type(key) is list:
        return tuple(_hashable(k) for k in key)
    if type(key) is dict:
        raise CBORDecodeError("map used as a map key")
    return key
