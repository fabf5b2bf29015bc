"""Deployment packages: what Lambda accepts in a .zip, checked before anything is extracted.

Everything that decides whether an uploaded package is usable lives here. A ``ZipFile`` uploaded
with CreateFunction / UpdateFunctionCode is at most 50 MB zipped and its contents at most 250 MB
(262,144,000 bytes) unzipped; a larger package is refused at upload time with Lambda's message.
Beyond Lambda's own checks, eventmesh refuses what would let a package reach outside itself or
exhaust the host: an entry named by an absolute path or with ``..``, an entry whose declared size
is more than ``MAX_COMPRESSION_RATIO`` times its compressed size (a zip bomb), more than
``MAX_ENTRIES`` entries. The runner extracts with :func:`member_target` and stops at the cap
even when the declared sizes lie (``drivers/lambda_/code.py``).
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
https://docs.aws.amazon.com/lambda/latest/dg/python-package.html
"""

from __future__ import annotations

import base64
import binascii
import io
import posixpath
import zipfile

from eventmesh.services.lambda_.errors import InvalidParameterValueException, RequestTooLargeException

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_ENTRIES",
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIPPED_UPLOAD_BYTES",
    "check_handler_path",
    "decode_package",
    "inspect_package",
    "member_target",
]

MAX_ZIPPED_UPLOAD_BYTES = 52_428_800      # Deployment package (.zip) size, direct upload: 50 MB
MAX_UNZIPPED_BYTES = 262_144_000          # Deployment package size, unzipped: 250 MB
CREATE_FUNCTION_REQUEST_BYTES = 70_167_211  # the request-size figure Lambda's 413 message names
# eventmesh's own guards (AWS publishes none): a real package compresses text about 3-10x; a
# ratio past 1,000 on an entry of at least RATIO_CHECK_MIN_BYTES is a bomb, not code.
MAX_COMPRESSION_RATIO = 1_000
RATIO_CHECK_MIN_BYTES = 1 << 20
MAX_ENTRIES = 100_000

_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def member_target(name: str) -> str | None:
    """The relative path an entry extracts to, or None when it would land outside the package
    (absolute, a drive letter, ``..``)."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None if ".." in parts else ""
    return posixpath.join(*parts)


def inspect_package(code: bytes) -> int:
    """Check an uploaded package against the limits above; returns its unzipped size in bytes."""
    if len(code) > MAX_ZIPPED_UPLOAD_BYTES:
        raise RequestTooLargeException(
            f"Request must be smaller than {CREATE_FUNCTION_REQUEST_BYTES} bytes for the CreateFunction operation")
    try:
        archive = zipfile.ZipFile(io.BytesIO(code))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise InvalidParameterValueException(_UNZIP_FAILED) from None
    if len(infos) > MAX_ENTRIES:
        raise InvalidParameterValueException(_UNZIP_FAILED)
    total = 0
    for info in infos:
        if member_target(info.filename) is None:
            raise InvalidParameterValueException(_UNZIP_FAILED)
        size = info.file_size
        total += size
        if total > MAX_UNZIPPED_BYTES:
            raise InvalidParameterValueException(
                f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
        if size >= RATIO_CHECK_MIN_BYTES and size > MAX_COMPRESSION_RATIO * max(1, info.compress_size):
            raise InvalidParameterValueException(_UNZIP_FAILED)
    return total


def decode_package(zip_file: bytes | str) -> tuple[bytes, int]:
    """An uploaded ``ZipFile`` (bytes, or base64 as JSON carries it) checked by
    :func:`inspect_package`: the package and its unzipped size."""
    if isinstance(zip_file, bytes):
        code = zip_file
    else:
        try:
            code = base64.b64decode(zip_file, validate=True)
        except binascii.Error:
            raise InvalidParameterValueException(_UNZIP_FAILED) from None
    return code, inspect_package(code)


def check_handler_path(handler: str) -> None:
    """A zip handler names a module inside the package: no absolute path, no ``..``."""
    module = handler.rpartition(".")[0]
    if not module or module.startswith(("/", "\\")) or ".." in module or ":" in module:
        raise InvalidParameterValueException(
            f"Handler {handler} must name a module inside the deployment package (file.function)")
