"""/v1/sql over HTTP: disclosure probes, the byte cap and the memory bound, each with the
status and the data left as it was."""

import resource

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


def test_a_huge_string_is_refused_outside_the_replica_and_the_dataset_still_answers(api):
    ingest(api, "people", CSV)
    assert sql_count(api) == [[2]]  # the worker is up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resp = api.post("/v1/sql", json={"sql": "SELECT length(repeat('x', 2000000000))"})
    # 413 when the worker's address-space limit refuses the allocation; 408 when it fits
    # under the limit but not in the time: either way bounded, and never in this process
    assert resp.status_code in (408, 413), resp.text
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    assert sql_count(api) == [[2]]


def sql_count(api):
    return api.post("/v1/sql", json={"sql": "SELECT count(*) FROM people"}).json()["rows"]


def test_answers_past_the_byte_cap_are_truncated(api):
    cap = api.services.settings.sql_max_result_bytes
    sql = f"SELECT repeat('x', 2000) FROM range({cap // 2000 * 2})"
    body = api.post("/v1/sql", json={"sql": sql}).json()
    assert body["truncated"] and 0 < body["row_count"] < cap // 2000
