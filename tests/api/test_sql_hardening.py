"""/v1/sql over HTTP: disclosure probes, the byte cap and the memory bound, each with the
status and the data left as it was."""

import pytest

from tests.api.test_routes import CSV, ingest, objects
from tests.unit.test_sql_disclosure import HOST

PROBES = [
    "SELECT name, value FROM duckdb_settings()",
    "SELECT current_setting('temp_directory')",
    "SELECT sql FROM duckdb_views()",
    "SELECT view_definition FROM information_schema.views",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_parquet('datasets/people/x.parquet')",
    "SELECT * FROM '/root/.duckdb/x.csv'",
]


@pytest.mark.parametrize("probe", PROBES)
def test_probes_are_refused_without_a_host_path(api, settings, probe):
    ingest(api, "people", CSV)
    before = objects(api)
    resp = api.post("/v1/sql", json={"sql": probe})
    assert resp.status_code == 400, resp.text
    for word in (*HOST, str(settings.data_dir)):
        assert word not in resp.text
    assert objects(api) == before
    assert api.post("/v1/sql", json={"sql": "SELECT count(*) FROM people"}).json()["rows"] == [[2]]


def test_a_huge_string_is_413_and_the_dataset_still_answers(api):
    ingest(api, "people", CSV)
    resp = api.post("/v1/sql", json={"sql": "SELECT length(repeat('x', 2000000000))"})
    assert resp.status_code == 413 and resp.json()["error"] == "too_large"
    assert api.post("/v1/sql", json={"sql": "SELECT count(*) FROM people"}).json()["rows"] == [[2]]


def test_answers_past_the_byte_cap_are_truncated(api):
    cap = api.services.settings.sql_max_result_bytes
    sql = f"SELECT repeat('x', 2000) FROM range({cap // 2000 * 2})"
    body = api.post("/v1/sql", json={"sql": sql}).json()
    assert body["truncated"] and 0 < body["row_count"] < cap // 2000
