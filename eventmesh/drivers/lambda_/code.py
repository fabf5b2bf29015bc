"""Extracted deployment packages, one directory per code SHA-256, extracted safely.

Uploads were checked against Lambda's limits when they arrived (``services/lambda_/package.py``);
extraction checks again, because the sizes a zip declares may lie: it writes entries itself
(never ``extractall``), refuses any entry that would land outside the package directory, counts
the bytes it really writes and stops at ``MAX_UNZIPPED_BYTES``. Unix permission bits in the zip
are kept (without set-id bits), so a custom runtime's ``bootstrap`` stays executable.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import stat
import tempfile
import threading
import zipfile

import msgspec

from eventmesh.effects import InvocationJob
from eventmesh.services.lambda_.package import MAX_UNZIPPED_BYTES, member_target

__all__ = ["CodeStore", "PackageError", "extract_package"]

_CHUNK_BYTES = 1 << 20


class PackageError(Exception):
    """The package cannot be extracted (malformed, escaping its directory, too large)."""


def extract_package(code: bytes, target: str, limit_bytes: int = MAX_UNZIPPED_BYTES) -> int:
    """Extract ``code`` into the directory ``target``; returns the bytes written."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(code))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise PackageError(f"Could not unzip the deployment package: {exc}") from None
    root = os.path.realpath(target)
    written = 0
    for info in infos:
        relative = member_target(info.filename)
        if relative is None:
            raise PackageError(f"Package entry {info.filename!r} points outside the package")
        if not relative:
            continue
        path = os.path.realpath(os.path.join(root, relative))
        if not path.startswith(root + os.sep):
            raise PackageError(f"Package entry {info.filename!r} points outside the package")
        if info.is_dir():
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with archive.open(info) as source, open(path, "wb") as sink:
                while chunk := source.read(_CHUNK_BYTES):
                    written += len(chunk)
                    if written > limit_bytes:
                        raise PackageError(f"Unzipped size must be smaller than {limit_bytes} bytes")
                    sink.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise PackageError(f"Could not unzip the deployment package: {exc}") from None
        mode = (info.external_attr >> 16) & 0o777
        if mode and stat.S_IFMT(info.external_attr >> 16) in (0, stat.S_IFREG):
            os.chmod(path, mode | stat.S_IRUSR)
    return written


class CodeStore:
    """Extracted deployment packages, one directory per code SHA-256 (thread-safe)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root or tempfile.mkdtemp(prefix="eventmesh-code-")
        self._lock = threading.Lock()

    def extract(self, sha256: str, code: bytes) -> str:
        """The directory holding ``code`` (extracted on first use); PackageError if it cannot be."""
        name = base64.b64encode(base64.b64decode(sha256), altchars=b"-_").decode().rstrip("=") if sha256 \
            else "unnamed"
        path = os.path.join(self.root, name)
        with self._lock:
            if not os.path.isdir(path):
                staging = tempfile.mkdtemp(dir=self.root)
                try:
                    extract_package(code, staging)
                except PackageError:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
                os.rename(staging, path)
        return path

    def prepare(self, job: InvocationJob, code: bytes | None,
                layers: tuple[tuple[str, bytes], ...] = ()) -> InvocationJob:
        """``job`` with ``code_dir`` and ``layer_dirs`` set to the extracted package and layers
        (PackageError if one cannot be extracted)."""
        changes: dict[str, object] = {}
        if code is not None:
            changes["code_dir"] = self.extract(job.code_sha256, code)
        if layers:
            changes["layer_dirs"] = tuple(self.extract(sha, zipped) for sha, zipped in layers)
        return msgspec.structs.replace(job, **changes) if changes else job

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
