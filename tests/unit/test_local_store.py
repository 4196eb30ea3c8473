"""Local-backend specifics: atomic publish, no stray temp files, prefix/object clashes."""

import os

import pytest

from lakehouse.errors import Conflict


def test_no_temp_files_survive_writes(local_store):
    local_store.put("a/b", b"1")
    local_store.put("a/b", b"2")
    with pytest.raises(Exception):  # noqa: B017 - any failure must still clean up
        local_store.put("a/b/c", b"3")
    assert os.listdir(local_store.tmp_dir) == []
    assert local_store.get("a/b") == b"2"


def test_object_and_prefix_cannot_clash(local_store):
    local_store.put("dir/file", b"x")
    with pytest.raises(Conflict):
        local_store.put("dir", b"y")
    with pytest.raises(Conflict):
        local_store.put("dir/file/child", b"z")
    assert local_store.get("dir/file") == b"x"


def test_delete_prunes_empty_directories(local_store):
    local_store.put("deep/er/key", b"x")
    local_store.delete("deep/er/key")
    assert not (local_store.root / "deep").exists()
    assert local_store.root.exists()


def test_a_killed_writer_leaves_the_old_object(local_store, tmp_path):
    """A write that dies before rename leaves only a temp file, never a torn object."""
    import subprocess
    import sys

    local_store.put("victim", b"old")
    script = f"""
import os, signal
from lakehouse.storage.local import LocalStore
import lakehouse.storage.local as mod
store = LocalStore({str(local_store.root)!r}, {str(local_store.tmp_dir)!r}, 1 << 20, 10)
real_publish = store._publish
def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
store._publish = die
store.put("victim", b"new-but-never-acknowledged")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    assert local_store.get("victim") == b"old"
