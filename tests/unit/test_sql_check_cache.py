"""``SqlEngine`` remembers accepted query texts only while the views stay the same."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import QueryRejected
from lakehouse.sql import SqlEngine, SqlLimits


@pytest.fixture
def engine(tmp_path):
    ds = tmp_path / "objects" / "datasets"
    ds.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3]}), ds / "a.parquet")
    pq.write_table(pa.table({"id": [7]}), ds / "b.parquet")
    eng = SqlEngine([ds], tmp_path / "tmp", SqlLimits(max_rows=10, timeout_s=5.0))
    eng.sync({"workers": ds / "a.parquet"})
    yield eng, ds
    eng.close()


def test_a_repeated_query_answers_the_same_and_follows_a_repointed_view(engine):
    eng, ds = engine
    sql = "SELECT count(*) AS n FROM workers"
    assert eng.query(sql).rows == [[3]] and eng.query(sql).rows == [[3]]
    assert len(eng._accepted) == 1
    eng.sync({"workers": ds / "b.parquet"})
    assert eng.query(sql).rows == [[1]]


def test_a_dropped_view_is_refused_even_for_a_text_accepted_before(engine):
    eng, ds = engine
    sql = "SELECT id FROM workers"
    assert eng.query(sql).row_count == 3
    eng.sync({"others": ds / "b.parquet"})
    with pytest.raises(QueryRejected, match="no dataset named"):
        eng.query(sql)
    assert eng._accepted == {}


def test_refused_texts_are_never_remembered(engine):
    eng, _ = engine
    for _ in range(2):
        with pytest.raises(QueryRejected):
            eng.query("SELECT * FROM duckdb_settings()")
    assert eng._accepted == {}
