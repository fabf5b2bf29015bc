"""Opening a data directory: a path that cannot be one is refused with what is wrong with it; one
process at a time (and its journal writer) holds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventmesh.drivers.persistence.journal import Journal
from eventmesh.drivers.persistence.store import FORMAT_VERSION, HASH_SEED, DataDir, DataDirError


def test_a_new_directory_gets_its_meta_and_a_second_open_reads_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", HASH_SEED)
    meta = DataDir(tmp_path / "new" / "data").read_meta(7)
    assert meta == {"format": FORMAT_VERSION, "seed": 7, "hash_seed": HASH_SEED}
    assert DataDir(tmp_path / "new" / "data").read_meta(None) == meta   # the seed it was made with


@pytest.mark.parametrize(("setup", "message"), [
    (lambda p: p.write_text("a file"), "cannot be used as a data directory: File exists"),
    (lambda p: (p.mkdir(), (p / "meta.json").write_text("{bad")), "meta.json is not JSON"),
    (lambda p: (p.mkdir(), (p / "meta.json").write_text("[1]")), "data directory format None"),
    (lambda p: (p.mkdir(), (p / "meta.json").write_text('{"format": 99}')), "data directory format 99"),
])
def test_a_path_that_is_not_a_data_directory_is_refused(tmp_path: Path, setup, message: str) -> None:
    path = tmp_path / "d"
    setup(path)
    with pytest.raises(DataDirError, match=message):
        DataDir(path).read_meta(None)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_directory_without_write_permission_is_refused(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(DataDirError, match="cannot be used as a data directory: Permission denied"):
            DataDir(tmp_path / "d").read_meta(None)
    finally:
        tmp_path.chmod(0o700)


def test_one_process_at_a_time_holds_a_directory_and_its_journal_writer_holds_it_too(tmp_path: Path) -> None:
    first = DataDir(tmp_path)
    first.lock()
    with pytest.raises(DataDirError, match="in use by another eventmesh process"):
        DataDir(tmp_path).lock(wait_s=0)
    # A writer left behind by a daemon killed with -9 keeps the lock until its last commit is done.
    journal = Journal(tmp_path, 0, lambda seq: None, lock_fd=first._lock_fd)
    first.unlock()
    with pytest.raises(DataDirError, match="in use"):
        DataDir(tmp_path).lock(wait_s=0)
    journal.close()
    second = DataDir(tmp_path)
    second.lock(wait_s=0)
    second.unlock()
