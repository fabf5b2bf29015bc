"""Snapshots: the whole engine (a Mesh with every scope, resource, timer and account state) in one
file, as of a journal position.

The engine is plain Python objects, so it is pickled, with cloudpickle for the callbacks timers
and replies hold (bound methods, partials, lambdas). What belongs to the world outside the engine
does not go into a snapshot: the clock's driver hooks are cleared for the dump, ``Ephemeral``
callbacks (drivers' subscriptions, waiting connections) pickle as no-ops, asyncio futures as
None, and msgspec's encoders and decoders are rebuilt from their type. A snapshot is written to a
temporary file, fsynced and renamed, so a crash while writing leaves the previous one in force.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import msgspec

from eventmesh.mesh import Ephemeral, Mesh

__all__ = ["dump", "dumps", "latest", "load", "loads", "snapshot_path"]

_PROTOCOL = 5


def snapshot_path(directory: Path, seq: int) -> Path:
    """The snapshot holding every journal record before ``seq``."""
    return directory / f"snapshot-{seq:016d}.pickle"


def latest(directory: Path) -> tuple[int, Path] | None:
    """The newest complete snapshot of ``directory`` and the journal position it includes."""
    found = []
    for path in directory.glob("snapshot-*.pickle"):
        try:
            found.append((int(path.stem.split("-", 1)[1]), path))
        except ValueError:
            continue
    return max(found) if found else None


def _decoder(kind: type, target: Any) -> Any:
    return kind(target) if target is not None else kind()


class _Pickler(cloudpickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in (msgspec.json.Decoder, msgspec.msgpack.Decoder):
            return (_decoder, (kind, obj.type))
        if kind in (msgspec.json.Encoder, msgspec.msgpack.Encoder):
            return (kind, ())
        if isinstance(obj, asyncio.Future):
            return (type(None), ())
        return super().reducer_override(obj)


def dumps(mesh: Mesh, outstanding: Sequence[Any] = ()) -> bytes:
    """The engine of ``mesh`` (its root and every scope) as bytes, with ``outstanding``: the
    effects sent outside the engine and not answered yet (sent again after a restart)."""
    root = mesh.root
    clock = root.clock
    hooks = (clock.after_callback, clock.on_earlier_deadline)
    clock.after_callback = clock.on_earlier_deadline = None
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=_PROTOCOL).dump((root, list(outstanding)))
        return buffer.getvalue()
    finally:
        clock.after_callback, clock.on_earlier_deadline = hooks


def dump(mesh: Mesh, directory: Path, seq: int, outstanding: Sequence[Any] = ()) -> Path:
    """Write the snapshot that includes every journal record before ``seq``; its path."""
    data = dumps(mesh, outstanding)
    final = snapshot_path(directory, seq)
    temporary = final.with_suffix(".tmp")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, final)
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)  # the rename itself is durable
    finally:
        os.close(directory_fd)
    for other in directory.glob("snapshot-*.pickle"):
        if other != final:
            other.unlink(missing_ok=True)
    return final


def load(path: Path) -> tuple[Mesh, list[Any]]:
    """The engine a snapshot file holds (see :func:`loads`)."""
    return loads(path.read_bytes())


def loads(data: bytes) -> tuple[Mesh, list[Any]]:
    """The engine a snapshot holds, its clock hooks set again to the mesh's flush (drivers then
    subscribe again: the snapshot kept their subscriptions as no-ops, which are dropped here),
    and the effects that were waiting for an answer from outside."""
    mesh: Mesh
    mesh, outstanding = pickle.loads(data)
    mesh.clock.after_callback = mesh.flush
    for kind, handlers in list(mesh._handlers.items()):
        handlers[:] = [h for h in handlers if not (isinstance(h, Ephemeral) and h.callback is None)]
        if not handlers:
            del mesh._handlers[kind]
    return mesh, outstanding
