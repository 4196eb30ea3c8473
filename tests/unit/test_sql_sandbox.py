"""The SQL sandbox: a query's memory and time are bounded from outside the replica, answers
are capped in bytes, and a worker lost to any of it is replaced with nothing changed."""

import os
import resource
import signal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import QueryTimeout, TooLarge
from lakehouse.sql.engine import SqlLimits
from lakehouse.sql.sandbox import SqlSandbox

GiB = 1024**3


@pytest.fixture
def sandbox(tmp_path):
    root = tmp_path / "objects"
    (root / "datasets" / "w").mkdir(parents=True)
    table = pa.table({"id": list(range(1000)), "s": ["x" * 50] * 1000})
    pq.write_table(table, root / "datasets" / "w" / "a.parquet")
    limits = SqlLimits(timeout_s=1.0, memory_limit="256MB", max_result_bytes=20_000)
    box = SqlSandbox(root, tmp_path / "tmp", limits, workers=1, max_bytes=int(1.5 * GiB))
    box.sync({"w": root / "datasets" / "w" / "a.parquet"})
    yield box
    box.close()


def _pids(box):
    return [w.proc.pid for w in list(box._idle.queue) if w is not None]


def _intact(box):
    assert box.query("SELECT count(*), sum(id) FROM w").rows == [[1000, 499500]]


def test_a_string_past_the_memory_limit_is_413_and_the_replica_does_not_grow(sandbox):
    _intact(sandbox)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TooLarge) as info:
        sandbox.query("SELECT length(repeat('x', 2000000000))")
    assert info.value.status == 413
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100 * 1024, "the 2 GB string was never built in this process"
    _intact(sandbox)


def test_an_uninterruptible_call_is_stopped_by_killing_its_worker(sandbox):
    _intact(sandbox)
    (first,) = _pids(sandbox)
    with pytest.raises(QueryTimeout) as info:
        sandbox.query("SELECT length(lpad('x', 1500000000, 'y'))")
    assert info.value.status == 408
    _intact(sandbox)
    assert _pids(sandbox) != [first], "the stuck worker was replaced"


def test_a_worker_killed_between_queries_is_replaced(sandbox):
    _intact(sandbox)
    (pid,) = _pids(sandbox)
    os.kill(pid, signal.SIGKILL)
    _intact(sandbox)


def test_answers_are_capped_in_bytes(sandbox):
    result = sandbox.query("SELECT * FROM w ORDER BY id")
    assert result.truncated and 0 < result.row_count < 1000
    assert len(orjson.dumps(result.rows)) <= 20_000
    with pytest.raises(TooLarge, match="first row"):
        sandbox.query("SELECT repeat('x', 100000)")
    _intact(sandbox)


def test_a_missing_file_is_reported_without_a_host_path(sandbox, tmp_path):
    sandbox.sync({"w": tmp_path / "objects" / "datasets" / "w" / "gone.parquet"})
    with pytest.raises(Exception) as info:
        sandbox.query("SELECT * FROM w")
    assert str(tmp_path) not in str(info.value) and "/tmp" not in str(info.value)
