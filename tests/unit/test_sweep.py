"""A writer killed mid-PUT leaves its temp file; the next store to open removes it, and never
a live writer's."""

import os
import signal
import subprocess
import sys
import time

from lakehouse.settings import Settings
from lakehouse.storage.factory import open_store
from lakehouse.storage.local import LocalStore

WRITER = """
import os, sys, time
from lakehouse.storage.local import LocalStore
store = LocalStore(sys.argv[1], sys.argv[2], 1 << 40, 10)
def stalled_fsync(fd):  # the disk stalls after the bytes are written: the PUT is in flight
    print("writing", flush=True)
    time.sleep(3600)
os.fsync = stalled_fsync
store.put("datasets/x/big.parquet", b"x" * 150_000)
"""


def kill_a_writer_mid_put(tmp_path):
    root, tmp = tmp_path / "objects", tmp_path / "tmp"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(tmp)], stdout=subprocess.PIPE, env=env
    )
    assert proc.stdout.readline().strip() == b"writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (left,) = tmp.glob("put-*")
    assert left.stat().st_size == 150_000 and not (root / "datasets").exists()
    return root, tmp, left


def test_a_killed_writers_temp_file_is_swept_when_the_store_opens(tmp_path):
    root, tmp, left = kill_a_writer_mid_put(tmp_path)
    LocalStore(root, tmp, 1 << 20, 10)  # default: an hour of quiet before it is stale
    assert left.exists(), "a file touched moments ago may be a live writer's"
    old = time.time() - 7200
    os.utime(left, (old, old))  # two hours later
    LocalStore(root, tmp, 1 << 20, 10)
    assert not left.exists()


def test_the_sweep_takes_only_temp_names_and_the_store_is_intact(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", tmp_stale_after_s=0)
    store = open_store(settings)
    store.put("a/b.json", b"{}")
    keep = settings.tmp_dir / "notes.txt"
    keep.write_text("not ours")
    stale = [settings.tmp_dir / n for n in ("put-1", "upload-2", "ingest-3.parquet")]
    (settings.tmp_dir / "duckdb").mkdir(exist_ok=True)
    stale.append(settings.tmp_dir / "duckdb" / "duckdb_temp_storage-0.tmp")
    for path in stale:
        path.write_bytes(b"partial")
    again = open_store(settings)
    assert [p for p in stale if p.exists()] == []
    assert keep.exists() and again.get("a/b.json") == b"{}"
