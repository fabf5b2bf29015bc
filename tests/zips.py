"""Deployment packages for tests: a handler's source zipped as `aws lambda create-function --zip-file` takes it."""

from __future__ import annotations

import io
import zipfile


def handler_zip(source: str, module: str = "app.py") -> bytes:
    """A zip holding one module, ``source``, at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(module, source)
    return buffer.getvalue()


def files_zip(files: dict[str, str]) -> bytes:
    """A zip holding each ``{path: text}`` (a package with directories, a layer's ``python/``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
