"""The whole stack: real HTTP → HAProxy → Serve replica → catalog actor → store / DuckDB."""

import concurrent.futures as cf

import httpx
import ray

from actors.catalog import actor_name
from lakehouse.settings import Settings
from lakehouse.staffing import write_csv
from tests.integration.conftest import TOKENS


def ingest(http, name, path):
    with open(path, "rb") as fh:
        return http.post("/v1/ingest", params={"name": name}, files={"file": ("w.csv", fh)})


def test_health_is_open_and_traced(http, serve_url):
    resp = httpx.get(f"{serve_url}/health", headers={"X-Lakehouse-Trace-Id": "t-123"})
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    assert resp.headers["x-lakehouse-trace-id"] == "t-123"


def test_auth_over_http(http, serve_url):
    assert httpx.get(f"{serve_url}/v1/catalog/datasets").status_code == 401
    for token in TOKENS:
        resp = httpx.get(
            f"{serve_url}/v1/catalog/datasets", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 200


def test_staffing_ingest_and_sql(http, tmp_path):
    csv = tmp_path / "workers.csv"
    write_csv(csv, 3000)
    resp = ingest(http, "workers", csv)
    assert resp.status_code == 201, resp.text
    assert resp.json()["row_count"] == 3000
    sql = "SELECT role, count(*) AS n, avg(rating) FROM workers GROUP BY role ORDER BY n DESC"
    body = http.post("/v1/sql", json={"sql": sql}).json()
    assert sum(r[1] for r in body["rows"]) == 3000 and body["row_count"] == len(body["rows"]) == 24
    resumes = http.post("/v1/sql", json={"sql": "SELECT resume FROM workers LIMIT 1"}).json()
    assert "\n" in resumes["rows"][0][0]


def test_upload_over_the_cap_is_413_and_writes_nothing(http, tmp_path, app_settings):
    csv = tmp_path / "big.csv"
    write_csv(csv, 6000)  # ~2.9 MB > 2 MiB cap
    before = http.get("/v1/storage/objects", params={"prefix": ""}).json()["objects"]
    resp = ingest(http, "too_big", csv)
    assert resp.status_code == 413 and resp.json()["error"] == "too_large"
    assert http.get("/v1/storage/objects", params={"prefix": ""}).json()["objects"] == before
    assert http.get("/v1/catalog/datasets/too_big").status_code == 404


def test_drift_409_keeps_serving_the_old_parquet(http, tmp_path):
    good = tmp_path / "g.csv"
    good.write_text("id,v\n1,a\n2,b\n")
    assert ingest(http, "drifty", good).status_code == 201
    bad = tmp_path / "b.csv"
    bad.write_text("id,v,extra\n1,a,x\n")
    resp = ingest(http, "drifty", bad)
    assert resp.status_code == 409
    assert http.post("/v1/sql", json={"sql": "SELECT count(*) FROM drifty"}).json()["rows"] == [[2]]


def test_sql_rejections_and_timeout_over_http(http):
    resp = http.post("/v1/sql", json={"sql": "COPY (SELECT 1) TO '/tmp/x.csv'"})
    assert resp.status_code == 400 and resp.json()["error"] == "query_rejected"
    resp = http.post(
        "/v1/sql", json={"sql": "SELECT sum(a.range*b.range) FROM range(400000) a, range(400000) b"}
    )
    assert resp.status_code == 408
    assert http.post("/v1/sql", json={"sql": "SELECT 1"}).json()["rows"] == [[1]]


def test_64_concurrent_clients_all_answered(http, serve_url):
    def one(_):
        return httpx.get(f"{serve_url}/health", timeout=30).status_code

    with cf.ThreadPoolExecutor(64) as pool:
        codes = list(pool.map(one, range(256)))
    assert codes == [200] * 256


def test_catalog_actor_restart_keeps_every_dataset(http, app_settings):
    before = http.get("/v1/catalog/datasets").json()["datasets"]
    assert before, "earlier tests registered datasets"
    handle = ray.get_actor(actor_name(Settings(**app_settings)), namespace="lakehouse")
    ray.kill(handle, no_restart=False)
    for _ in range(50):
        resp = http.get("/v1/catalog/datasets")
        if resp.status_code == 200:
            break
        assert resp.status_code == 503
    assert resp.json()["datasets"] == before
    assert http.post("/v1/sql", json={"sql": "SELECT count(*) FROM drifty"}).json()["rows"] == [[2]]
