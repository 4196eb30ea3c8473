import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import InvalidInput, QueryRejected, QueryTimeout
from lakehouse.sql import SqlEngine, SqlLimits


@pytest.fixture
def engine(tmp_path):
    ds = tmp_path / "objects" / "datasets"
    ds.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "id": list(range(100)),
                "role": ["cook", "nurse"] * 50,
                "score": [i / 10 for i in range(100)],
            }
        ),
        ds / "t.parquet",
    )
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    eng = SqlEngine([ds], tmp_path / "tmp", SqlLimits(max_rows=10, timeout_s=1.0))
    eng.sync({"workers": ds / "t.parquet"})
    yield eng
    eng.close()


def test_select_group_by_and_types(engine):
    res = engine.query(
        "SELECT role, count(*) AS n, avg(score) AS s FROM workers GROUP BY role ORDER BY role"
    )
    assert res.columns == [
        {"name": "role", "type": "VARCHAR"},
        {"name": "n", "type": "BIGINT"},
        {"name": "s", "type": "DOUBLE"},
    ]
    assert res.rows == [["cook", 50, pytest.approx(4.9)], ["nurse", 50, pytest.approx(5.0)]]
    assert res.row_count == 2 and not res.truncated


def test_with_query_is_allowed(engine):
    res = engine.query("WITH c AS (SELECT count(*) AS n FROM workers) SELECT n FROM c")
    assert res.rows == [[100]]


def test_row_cap_truncates(engine):
    res = engine.query("SELECT id FROM workers ORDER BY id")
    assert res.row_count == 10 and res.truncated
    assert [r[0] for r in res.rows] == list(range(10))


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO workers VALUES (1, 'x', 1)",
        "DROP VIEW workers",
        "COPY workers TO 'out.csv'",
        "ATTACH 'other.db' AS o",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 8",
        "PRAGMA enable_profiling",
        "EXPORT DATABASE 'x'",
        "SELECT 1; SELECT 2",
        "SELEC 1",
    ],
)
def test_everything_but_one_select_is_rejected(engine, sql):
    with pytest.raises(QueryRejected):
        engine.query(sql)
    assert engine.query("SELECT count(*) FROM workers").rows == [[100]], "views intact"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('{tmp}/secret.csv')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_parquet('{tmp}/objects/datasets/../../secret.csv')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_json('http://127.0.0.1:1/x.json')",
    ],
)
def test_no_file_or_network_access_outside_the_datasets(engine, tmp_path, sql):
    with pytest.raises((QueryRejected, InvalidInput)):
        engine.query(sql.format(tmp=tmp_path))


def test_configuration_is_locked_even_below_the_statement_check(engine):
    import duckdb

    for sql in ("SET enable_external_access = true", "SET allowed_directories = ['/']"):
        with pytest.raises(duckdb.Error, match="locked"):
            engine._con.execute(sql)
    settings = dict(
        engine._con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'autoload_known_extensions', 'lock_configuration')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "autoload_known_extensions": "false",
        "lock_configuration": "true",
    }


def test_time_limit_cancels(engine):
    with pytest.raises(QueryTimeout) as info:
        engine.query("SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b")
    assert info.value.status == 408
    assert engine.query("SELECT 42").rows == [[42]], "the engine still works afterwards"


def test_sync_repoints_and_drops_views(engine, tmp_path):
    ds = tmp_path / "objects" / "datasets"
    pq.write_table(pa.table({"x": [1, 2]}), ds / "u.parquet")
    engine.sync({"other": ds / "u.parquet"})
    assert engine.query("SELECT sum(x) FROM other").rows == [[3]]
    with pytest.raises(QueryRejected):
        engine.query("SELECT * FROM workers")


def test_values_are_json_safe(engine):
    res = engine.query(
        "SELECT DATE '2024-01-02' AS d, 1.5::DECIMAL(4,2) AS m, 'nan'::DOUBLE AS n, "
        "[1, 2] AS l, {'a': 1} AS s, '\\x01'::BLOB AS b"
    )
    assert res.rows == [["2024-01-02", 1.5, None, [1, 2], {"a": 1}, "AQ=="]]


def test_empty_and_oversized_sql(engine):
    with pytest.raises(InvalidInput):
        engine.query("   ")
    with pytest.raises(InvalidInput):
        engine.query("SELECT 1 " + " " * 200_000)
