"""Function code as a deploy packages it: a ``CodeUri`` directory or inline code, zipped.

``sam deploy`` zips a function's ``CodeUri`` directory; CloudFormation writes inline code
(``Code.ZipFile``, SAM ``InlineCode``) to ``index.<extension>`` in a zip. The zips here are
byte-for-byte reproducible (fixed timestamps, sorted entries), so ``CodeSha256`` does not change
between runs of an unchanged directory.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

__all__ = ["MAX_UNZIPPED_CODE_BYTES", "zip_directory", "zip_inline"]

# Lambda's quota for a deployment package, unzipped (Lambda quotas page: 250 MB).
MAX_UNZIPPED_CODE_BYTES = 250 * 1024 * 1024
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = {"__pycache__", ".aws-sam", ".git", "node_modules/.cache"}
_INLINE_NAMES = {"python": "index.py", "nodejs": "index.js"}


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_directory(directory: Path) -> bytes:
    """Every file under ``directory`` (not caches), paths relative to it."""
    if not directory.is_dir():
        raise ValueError(f"CodeUri {directory} is not a directory")
    files = sorted(p for p in directory.rglob("*")
                   if p.is_file() and not _SKIPPED_DIRS.intersection(p.relative_to(directory).parts))
    if sum(p.stat().st_size for p in files) > MAX_UNZIPPED_CODE_BYTES:
        raise ValueError(f"CodeUri {directory} is larger than Lambda's {MAX_UNZIPPED_CODE_BYTES} bytes unzipped")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            archive.writestr(_entry(path.relative_to(directory).as_posix()), path.read_bytes())
    return buffer.getvalue()


def zip_inline(source: str, runtime: str | None) -> bytes:
    """Inline code in the file CloudFormation writes it to (``index.py`` for Python)."""
    family = next((k for k in _INLINE_NAMES if (runtime or "python").startswith(k)), "python")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry(_INLINE_NAMES[family]), source)
    return buffer.getvalue()
