"""Datasets held in memory by the SQL engine: the same answers as the Parquet file, within a
byte budget, repointed and dropped with the catalog, and never writable."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import QueryRejected
from lakehouse.sql import SqlEngine, SqlLimits

QUERIES = [
    "SELECT * FROM workers LIMIT 3 OFFSET 41",
    "SELECT role, count(*) AS n, sum(score) AS s FROM workers GROUP BY role ORDER BY role",
    "SELECT id, score FROM workers WHERE id = 77",
    "SELECT typeof(id), typeof(role), typeof(score), typeof(day) FROM workers LIMIT 1",
]


def write(path, rows: int, offset: int = 0) -> None:
    pq.write_table(
        pa.table(
            {
                "id": list(range(offset, offset + rows)),
                "role": ["cook", "nurse", "driver"] * (rows // 3) + ["cook"] * (rows % 3),
                "score": [i / 7 for i in range(rows)],
                "day": pa.array([i % 28 for i in range(rows)], pa.int16()),
            }
        ),
        path,
    )


@pytest.fixture
def datasets(tmp_path):
    ds = tmp_path / "objects" / "datasets"
    ds.mkdir(parents=True)
    write(ds / "a.parquet", 300)
    write(ds / "b.parquet", 3000, offset=10_000)
    return ds


def engine(tmp_path, ds, cache_bytes: int) -> SqlEngine:
    return SqlEngine([ds], tmp_path / f"tmp{cache_bytes}", SqlLimits(cache_bytes=cache_bytes))


def test_a_cached_dataset_answers_as_its_parquet_file(tmp_path, datasets):
    cached, plain = engine(tmp_path, datasets, 1 << 20), engine(tmp_path, datasets, 0)
    for eng in (cached, plain):
        eng.sync({"workers": datasets / "a.parquet"})
    assert list(cached.cached()) == ["workers"] and plain.cached() == {}
    raw = duckdb.connect()
    raw.execute(f"CREATE VIEW workers AS SELECT * FROM read_parquet('{datasets / 'a.parquet'}')")
    for sql in QUERIES:
        expected = [list(r) for r in raw.execute(sql).fetchall()]
        assert cached.query(sql).rows == plain.query(sql).rows == expected, sql
        assert cached.query(sql).columns == plain.query(sql).columns, sql


def test_the_budget_holds_the_smaller_dataset_and_leaves_the_other_a_view(tmp_path, datasets):
    eng = SqlEngine([datasets], tmp_path / "tmp", SqlLimits(cache_bytes=1))
    eng.sync({"a": datasets / "a.parquet", "b": datasets / "b.parquet"})
    assert eng.cached() == {}  # nothing fits in one byte
    sizes = {}
    for name in ("a", "b"):
        big = SqlEngine([datasets], tmp_path / f"t{name}", SqlLimits(cache_bytes=1 << 30))
        big.sync({name: datasets / f"{name}.parquet"})
        sizes.update(big.cached())
    assert 0 < sizes["a"] < sizes["b"]
    eng = SqlEngine([datasets], tmp_path / "tmp2", SqlLimits(cache_bytes=sizes["b"]))
    eng.sync({"b": datasets / "b.parquet", "a": datasets / "a.parquet"})
    assert eng.cached() == {"a": sizes["a"]}  # the smaller first; b no longer fits
    assert eng.query("SELECT count(*) FROM b").rows == [[3000]]  # still there, as a view
    assert eng.query("SELECT count(*) FROM a").rows == [[300]]


def test_a_repointed_dataset_is_reloaded_and_a_dropped_one_is_gone(tmp_path, datasets):
    eng = engine(tmp_path, datasets, 1 << 20)
    eng.sync({"workers": datasets / "a.parquet"})
    assert eng.query("SELECT count(*), min(id) FROM workers").rows == [[300, 0]]
    eng.sync({"workers": datasets / "b.parquet"})  # a new ingest of the same name
    assert eng.query("SELECT count(*), min(id) FROM workers").rows == [[3000, 10_000]]
    assert list(eng.cached()) == ["workers"]
    eng.sync({})
    assert eng.cached() == {}
    with pytest.raises(QueryRejected):
        eng.query("SELECT count(*) FROM workers")


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO workers VALUES (1, 'x', 1.0, 1)",
        "DELETE FROM workers",
        "UPDATE workers SET score = 0",
        "DROP TABLE workers",
        "ALTER TABLE workers ADD COLUMN z INT",
        "CREATE TABLE x AS SELECT * FROM workers",
    ],
)
def test_a_cached_dataset_cannot_be_changed(tmp_path, datasets, sql):
    eng = engine(tmp_path, datasets, 1 << 20)
    eng.sync({"workers": datasets / "a.parquet"})
    before = eng.query("SELECT count(*), sum(score) FROM workers").rows
    with pytest.raises(QueryRejected):
        eng.query(sql)
    assert eng.query("SELECT count(*), sum(score) FROM workers").rows == before
    assert list(eng.cached()) == ["workers"]


def test_a_file_that_cannot_be_read_is_not_recorded_and_is_tried_again(tmp_path, datasets):
    bad = datasets / "late.parquet"
    bad.write_bytes(b"not parquet yet")
    eng = engine(tmp_path, datasets, 1 << 20)
    with pytest.raises(duckdb.Error):
        eng.sync({"late": bad})
    assert eng.cached() == {}
    write(bad, 30)  # the same path readable now: the next sync must create it
    eng.sync({"late": bad})
    assert eng.query("SELECT count(*) FROM late").rows == [[30]]
    assert list(eng.cached()) == ["late"]
