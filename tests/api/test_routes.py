"""Every route and every bad-input path: the status AND that nothing changed."""

import io

import pyarrow.parquet as pq
import pytest

CSV = 'id,name,score\n1,ada,2.5\n2,"multi\nline",3.5\n'


def ingest(api, name, text, **kw):
    return api.post("/v1/ingest", params={"name": name}, files={"file": ("d.csv", text)}, **kw)


def objects(api):
    """Stored keys but the observer's (every request, a refused one too, is an event there)."""
    keys = (o.key for o in api.services.store.list("", limit=1000).objects)
    return sorted(k for k in keys if not k.startswith("observer/"))


def test_health_and_trace_id_minted_or_echoed(api):
    resp = api.get("/health")
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    assert len(resp.headers["x-lakehouse-trace-id"]) == 32
    resp = api.get("/health", headers={"X-Lakehouse-Trace-Id": "my-trace.1"})
    assert resp.headers["x-lakehouse-trace-id"] == "my-trace.1"
    resp = api.get("/health", headers={"X-Lakehouse-Trace-Id": "bad id with spaces"})
    assert resp.headers["x-lakehouse-trace-id"] != "bad id with spaces"


def test_ingest_then_catalog_then_sql(api):
    resp = ingest(api, "people", CSV)
    assert resp.status_code == 201, resp.text
    manifest = resp.json()
    assert manifest["row_count"] == 2 and manifest["name"] == "people"
    assert manifest["object_key"] == f"datasets/people/{manifest['fingerprint']}.parquet"
    assert [c["name"] for c in manifest["columns"]] == ["id", "name", "score"]
    assert api.get("/v1/catalog/datasets/people").json() == manifest
    assert [d["name"] for d in api.get("/v1/catalog/datasets").json()["datasets"]] == ["people"]
    resp = api.post("/v1/sql", json={"sql": "SELECT name, score FROM people ORDER BY id"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["rows"] == [["ada", 2.5], ["multi\nline", 3.5]]
    assert body["columns"] == [
        {"name": "name", "type": "VARCHAR"},
        {"name": "score", "type": "DOUBLE"},
    ]
    assert body["row_count"] == 2


def test_ingest_raw_text_csv_body(api):
    resp = api.post(
        "/v1/ingest", params={"name": "raw"}, content=CSV, headers={"content-type": "text/csv"}
    )
    assert resp.status_code == 201 and resp.json()["row_count"] == 2


def test_reingest_same_schema_replaces_data_same_id(api):
    first = ingest(api, "people", CSV).json()
    second = ingest(api, "people", CSV + "3,cy,1.0\n").json()
    assert second["dataset_id"] == first["dataset_id"] and second["row_count"] == 3
    assert api.post("/v1/sql", json={"sql": "SELECT count(*) FROM people"}).json()["rows"] == [[3]]


def test_schema_drift_409_and_old_parquet_still_served(api):
    live = ingest(api, "people", CSV).json()
    before = objects(api)
    resp = ingest(api, "people", "id,other\n1,x\n")
    assert resp.status_code == 409 and resp.json()["error"] == "schema_drift"
    assert objects(api) == before
    assert api.get("/v1/catalog/datasets/people").json() == live
    rows = api.post("/v1/sql", json={"sql": "SELECT count(*) FROM people"}).json()["rows"]
    assert rows == [[2]]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("id,name\n", "no data rows"),
        ("a,b\n1,2\n3\n", "malformed"),
        ("a,a\n1,2\n", "repeats"),
    ],
)
def test_bad_csv_400_and_nothing_written(api, text, fragment):
    resp = ingest(api, "bad", text)
    assert resp.status_code == 400, resp.text
    assert fragment in resp.json()["message"]
    assert objects(api) == []
    assert api.get("/v1/catalog/datasets").json()["datasets"] == []
    assert list(api.services.settings.tmp_dir.glob("upload-*")) == []
    assert list(api.services.settings.tmp_dir.glob("ingest-*")) == []


@pytest.mark.parametrize("name", ["bad-name", "1x", "a b"])
def test_bad_dataset_name_400(api, name):
    assert ingest(api, name, CSV).status_code == 400
    assert objects(api) == []


def test_ingest_needs_a_file(api):
    resp = api.post("/v1/ingest", params={"name": "x"}, files={"other": ("d.csv", CSV)})
    assert resp.status_code == 400 and "file" in resp.json()["message"]
    resp = api.post("/v1/ingest", params={"name": "x"}, json={"a": 1})
    assert resp.status_code == 400
    assert objects(api) == []


def test_ingest_over_the_cap_413_and_nothing_written(settings):
    from tests.api.conftest import make_client

    small = settings.model_copy(update={"ingest_max_bytes": 1000})
    client, services = make_client(small)
    with client:
        big = "id,name\n" + "".join(f"{i},name{i}\n" for i in range(500))
        resp = client.post("/v1/ingest", params={"name": "big"}, files={"file": ("d.csv", big)})
        assert resp.status_code == 413 and resp.json()["error"] == "too_large"
        kept = [o.key for o in services.store.list("").objects]
        assert [k for k in kept if not k.startswith("observer/")] == []
        assert list(small.tmp_dir.glob("upload-*")) == []


def test_unknown_dataset_404(api):
    resp = api.get("/v1/catalog/datasets/nope")
    assert resp.status_code == 404 and resp.json() == {
        "error": "not_found",
        "message": "dataset 'nope' not found",
    }


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1) TO 'x.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH 'x.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 1",
    ],
)
def test_sql_that_is_not_a_pure_select_is_rejected(api, sql):
    ingest(api, "people", CSV)
    before = objects(api)
    resp = api.post("/v1/sql", json={"sql": sql})
    assert resp.status_code == 400 and resp.json()["error"] == "query_rejected"
    assert objects(api) == before
    assert api.post("/v1/sql", json={"sql": "SELECT count(*) FROM people"}).json()["rows"] == [[2]]


def test_sql_time_limit_408(api):
    resp = api.post(
        "/v1/sql",
        json={"sql": "SELECT sum(a.range * b.range) FROM range(300000) a, range(300000) b"},
    )
    assert resp.status_code == 408 and resp.json()["error"] == "query_timeout"


def test_sql_request_validation_400(api):
    assert api.post("/v1/sql", json={}).status_code == 400
    assert api.post("/v1/sql", json={"sql": "SELECT 1", "extra": 1}).status_code == 400
    assert (
        api.post(
            "/v1/sql", content=b"not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_storage_round_trip(api):
    resp = api.put("/v1/storage/objects/notes/a.txt", content=b"hello")
    assert resp.status_code == 200 and resp.json()["size"] == 5
    got = api.get("/v1/storage/objects/notes/a.txt")
    assert got.content == b"hello" and got.headers["etag"]
    listing = api.get("/v1/storage/objects", params={"prefix": "notes/"}).json()
    assert [o["key"] for o in listing["objects"]] == ["notes/a.txt"] and not listing["truncated"]
    assert api.delete("/v1/storage/objects/notes/a.txt").status_code == 204
    assert api.get("/v1/storage/objects/notes/a.txt").status_code == 404
    assert api.delete("/v1/storage/objects/notes/a.txt").status_code == 404


def test_storage_conditional_create_409(api):
    api.put("/v1/storage/objects/once", content=b"1", headers={"If-None-Match": "*"})
    resp = api.put("/v1/storage/objects/once", content=b"2", headers={"If-None-Match": "*"})
    assert resp.status_code == 409
    assert api.get("/v1/storage/objects/once").content == b"1"


@pytest.mark.parametrize("key", ["a/..%2Fb", "a%2F%2Fb", "%2Fabs", "x%00y", "x%09y", "trail/"])
def test_invalid_keys_400_and_nothing_written(api, key):
    resp = api.put(f"/v1/storage/objects/{key}", content=b"x")
    assert resp.status_code == 400, resp.text
    assert objects(api) == []


def test_reserved_prefixes_are_read_only(api):
    live = ingest(api, "people", CSV).json()
    before = api.get(f"/v1/storage/objects/{live['object_key']}").content
    assert api.put(f"/v1/storage/objects/{live['object_key']}", content=b"junk").status_code == 403
    assert api.delete(f"/v1/storage/objects/{live['object_key']}").status_code == 403
    assert (
        api.put("/v1/storage/objects/catalog/people/manifest.parquet", content=b"x").status_code
        == 403
    )
    assert api.get(f"/v1/storage/objects/{live['object_key']}").content == before
    assert pq.read_table(io.BytesIO(before)).num_rows == 2


def test_object_over_the_cap_413_and_nothing_written(api):
    cap = api.services.settings.max_object_bytes
    resp = api.put("/v1/storage/objects/big", content=b"x" * (cap + 1))
    assert resp.status_code == 413
    assert objects(api) == []


def test_json_body_over_the_cap_413(api):
    resp = api.post("/v1/sql", json={"sql": "SELECT 1 -- " + "x" * (2 << 20)})
    assert resp.status_code == 413


def test_openapi_documents_every_route(api):
    paths = api.get("/openapi.json").json()["paths"]
    expected = [
        "/health",
        "/v1/sql",
        "/v1/ingest",
        "/v1/catalog/datasets",
        "/v1/catalog/datasets/{name}",
        "/v1/storage/objects",
        "/v1/storage/objects/{key}",
    ]
    for path in expected:
        assert path in paths, path
    assert api.get("/docs").status_code == 200


@pytest.mark.parametrize("prefix", ["catalog", "datasets", "staging", "corpora", "vectors",
                                    "pathway", "playbooks", "drift", "distill"])  # fmt: skip
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("shape", ["{}/x/forged.json", "{}"])
def test_every_service_prefix_is_read_only_through_storage(api, prefix, method, shape):
    ingest(api, "people", CSV)
    key = shape.format(prefix)
    before = objects(api)
    resp = api.request(method, f"/v1/storage/objects/{key}", content=b'{"forged": true}')
    assert resp.status_code == 403 and resp.json()["error"] == "forbidden"
    assert objects(api) == before
