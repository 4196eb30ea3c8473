"""An attacker's probes of /v1/sql's engine: none may reveal a setting, a path, a secret or an
extension list, in an answer or in an error message; the views show dataset names only."""

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import LakehouseError
from lakehouse.sql import SqlEngine, SqlLimits
from lakehouse.sql.scrub import scrub

PROBES = [
    # settings
    "SELECT name, value FROM duckdb_settings()",
    "FROM duckdb_settings()",
    "SELECT * FROM duckdb_settings",
    "SELECT current_setting('temp_directory')",
    "SELECT current_setting('secret_directory')",
    "SELECT current_setting('allowed_directories')",
    "SELECT CURRENT_SETTING('home_directory')",
    "SELECT main.current_setting('temp_directory')",
    "SELECT system.main.current_setting('temp_directory')",
    "SELECT getvariable('x')",
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT * FROM pg_settings",
    "SELECT * FROM duckdb_variables()",
    "SELECT version()",
    "SELECT * FROM pragma_version()",
    "SELECT * FROM pragma_platform()",
    "SELECT * FROM pragma_user_agent()",
    "SELECT * FROM pragma_database_size()",
    "SELECT * FROM pragma_show('workers')",
    "SELECT * FROM pragma_table_info('workers')",
    "SELECT get_block_size('memory')",
    # views and their definitions
    "SELECT * FROM duckdb_views()",
    "SELECT sql FROM duckdb_views() WHERE NOT internal",
    "SELECT * FROM duckdb_views",
    "SELECT view_definition FROM information_schema.views",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM information_schema.columns",
    "SELECT * FROM pg_catalog.pg_views",
    "SELECT * FROM pg_views",
    "SELECT pg_get_viewdef(1)",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_columns()",
    "SELECT * FROM duckdb_dependencies()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM memory.main.workers",
    "SELECT * FROM main.workers",
    "SELECT * FROM temp.main.duckdb_views",
    # extensions, secrets, files, logs, memory
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT which_secret('s3://b/k', 's3')",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT * FROM duckdb_memory()",
    "SELECT * FROM duckdb_logs",
    "SELECT * FROM duckdb_external_file_cache()",
    "SELECT * FROM duckdb_functions()",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('{tmp}/secret.csv')",
    "SELECT * FROM read_csv('{tmp}/secret.csv')",
    "SELECT * FROM '{tmp}/secret.csv'",
    "SELECT * FROM 'secret.csv'",
    "SELECT * FROM read_parquet('{ds}/t.parquet')",
    "SELECT * FROM read_parquet('{ds}/nope.parquet')",
    "SELECT * FROM parquet_metadata('{ds}/t.parquet')",
    "SELECT * FROM parquet_schema('{ds}/t.parquet')",
    "SELECT * FROM glob('*')",
    "SELECT * FROM glob('{ds}/*')",
    "SELECT * FROM sniff_csv('{tmp}/secret.csv')",
    "SELECT * FROM query('SELECT * FROM duckdb_settings()')",
    "SELECT * FROM query_table('duckdb_settings')",
    "SELECT write_log('x')",
    # smuggled into subqueries, CTEs, lambdas, joins
    "SELECT (SELECT value FROM duckdb_settings() LIMIT 1)",
    "SELECT * FROM workers WHERE role IN (SELECT value FROM duckdb_settings())",
    "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s",
    "WITH duckdb_settings AS (SELECT 1) SELECT * FROM duckdb_settings",
    "SELECT * FROM (WITH x AS (SELECT 1) SELECT 1), duckdb_views",
    "SELECT list_transform([1], lambda x: current_setting('temp_directory'))",
    "SELECT list_transform([1], x -> current_setting('temp_directory'))",
    "SELECT * FROM workers w JOIN duckdb_settings() s ON true",
    "SELECT * FROM workers, LATERAL (SELECT * FROM duckdb_settings())",
    "SELECT * FROM unnest((SELECT list(value) FROM duckdb_settings()))",
    "SELECT * FROM range((SELECT count(*) FROM duckdb_settings()))",
    "SELECT * FROM workers UNION ALL SELECT 1, current_setting('temp_directory'), 1",
    "PIVOT (SELECT * FROM duckdb_settings()) ON name USING first(value)",
    "DESCRIBE SELECT * FROM duckdb_settings()",
    "SUMMARIZE SELECT * FROM duckdb_settings()",
    "DESCRIBE workers",
    "SELECT * FROM json_execute_serialized_sql('x')",
    # errors that used to quote a host path
    "SELECT * FROM nope",
    "SELECT * FROM workers WHERE role = 1::INTEGER / 'x'",
    "SELECT CAST('abc' AS INTEGER)",
]

HOST = ("/root", "/home", "/tmp", "/etc", "/work", "secret_directory", "stored_secrets", "temp_")


@pytest.fixture
def engine(tmp_path):
    ds = tmp_path / "objects" / "datasets"
    ds.mkdir(parents=True)
    pq.write_table(
        pa.table({"id": [1, 2], "role": ["cook", "nurse"], "n": [1, 2]}), ds / "t.parquet"
    )
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    eng = SqlEngine([ds], tmp_path / "tmp", SqlLimits(max_rows=100, timeout_s=5.0))
    eng.sync({"workers": ds / "t.parquet"})
    yield eng
    eng.close()


@pytest.mark.parametrize("probe", PROBES)
def test_no_probe_reveals_the_host(engine, tmp_path, probe):
    sql = probe.format(tmp=tmp_path, ds=tmp_path / "objects" / "datasets")
    try:
        text = repr(engine.query(sql).to_dict())
    except LakehouseError as exc:
        assert exc.status in (400, 404, 413), exc
        text = repr(exc.to_dict())
    for word in (*HOST, str(tmp_path), "hunter2", os.path.expanduser("~")):
        assert word not in text, f"{probe!r} revealed {word!r}: {text[:300]}"
    assert engine.query("SELECT count(*) FROM workers").rows == [[2]], "views intact"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT role, count(*) FROM workers GROUP BY role ORDER BY role",
        "WITH c AS (SELECT * FROM workers) SELECT count(*) FROM c",
        "SELECT * FROM range(3)",
        "SELECT * FROM generate_series(1, 3)",
        "SELECT unnest([1, 2])",
        "SELECT * FROM unnest([1, 2])",
        "SELECT list_transform([1, 2], lambda x: x + 1)",
        "SELECT current_date IS NOT NULL",
        "SELECT 7 / 2, 1/2",
        "SELECT * FROM workers w1 JOIN workers w2 USING (id)",
        "FROM workers SELECT role",
        "SELECT * FROM (VALUES (1), (2)) t(x)",
    ],
)
def test_ordinary_queries_still_run(engine, sql):
    assert engine.query(sql).row_count >= 1


def test_scrub_replaces_absolute_paths_only():
    assert scrub('Cannot open "/root/.duckdb/x" here') == 'Cannot open "<path>" here'
    assert scrub("IO Error: /tmp/a/b.parquet: no") == "IO Error: <path>: no"
    assert scrub("7/2 and f(x)/2") == "7/2 and f(x)/2"
