"""The whole stack: real HTTP → HAProxy → Serve replica → catalog actor → store / DuckDB."""

import concurrent.futures as cf

import httpx
import numpy as np
import pytest
import ray

from actors.catalog import actor_name
from lakehouse.errors import (
    InvalidInput,
    NotFound,
    QueryRejected,
    QueryTimeout,
    SchemaDrift,
    TooLarge,
)
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


def test_staffing_ingest_and_sql(lakehouse, tmp_path):
    csv = tmp_path / "workers.csv"
    write_csv(csv, 3000)
    sent = []
    manifest = lakehouse.ingest.csv("workers", csv, progress=lambda n, total: sent.append(n))
    assert manifest["row_count"] == 3000 and sent[-1] == csv.stat().st_size
    sql = "SELECT role, count(*) AS n, avg(rating) FROM workers GROUP BY role ORDER BY n DESC"
    body = lakehouse.sql.query(sql)
    assert sum(r[1] for r in body["rows"]) == 3000 and body["row_count"] == len(body["rows"]) == 24
    resumes = lakehouse.sql.query("SELECT resume FROM workers LIMIT 1")
    assert "\n" in resumes["rows"][0][0]


def test_upload_over_the_cap_is_413_and_writes_nothing(http, lakehouse, tmp_path):
    csv = tmp_path / "big.csv"
    write_csv(csv, 6000)  # ~2.9 MB > 2 MiB cap
    before = lakehouse.storage.list()["objects"]
    with pytest.raises(TooLarge):
        lakehouse.ingest.csv("too_big", csv)
    resp = ingest(http, "too_big", csv)  # multipart, as curl sends it
    assert resp.status_code == 413 and resp.json()["error"] == "too_large"
    assert lakehouse.storage.list()["objects"] == before
    with pytest.raises(NotFound):
        lakehouse.catalog.dataset("too_big")


def test_drift_409_keeps_serving_the_old_parquet(lakehouse):
    lakehouse.ingest.csv("drifty", b"id,v\n1,a\n2,b\n")
    with pytest.raises(SchemaDrift) as err:
        lakehouse.ingest.csv("drifty", b"id,v,extra\n1,a,x\n")
    assert err.value.status == 409
    assert lakehouse.sql.query("SELECT count(*) FROM drifty")["rows"] == [[2]]


def test_sql_rejections_and_timeout_over_http(lakehouse):
    with pytest.raises(QueryRejected):
        lakehouse.sql.query("COPY (SELECT 1) TO '/tmp/x.csv'")
    with pytest.raises(QueryTimeout):
        lakehouse.sql.query("SELECT sum(a.range*b.range) FROM range(400000) a, range(400000) b")
    assert lakehouse.sql.query("SELECT 1")["rows"] == [[1]]


def test_packed_vectors_through_haproxy_and_two_shard_actors(lakehouse):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 32)).astype(np.float32)
    lakehouse.vectors.create("wire", 32, shards=2)
    assert lakehouse.vectors.add("wire", [f"v{i}" for i in range(300)], vectors) == 300
    for i in (0, 150, 299):
        assert lakehouse.vectors.search("wire", vectors[i], k=3)["hits"][0]["id"] == f"v{i}"
    as_json = lakehouse.with_options(binary=False).vectors.search("wire", vectors[5], k=5)
    assert as_json == lakehouse.vectors.search("wire", vectors[5], k=5)
    with pytest.raises(InvalidInput):
        lakehouse.vectors.add("wire", ["bad"], np.full((1, 32), np.inf))
    assert lakehouse.vectors.list()[0]["size"] == 300


def test_64_concurrent_clients_all_answered(http, serve_url):
    def one(_):
        return httpx.get(f"{serve_url}/health", timeout=30).status_code

    with cf.ThreadPoolExecutor(64) as pool:
        codes = list(pool.map(one, range(256)))
    assert codes == [200] * 256


def test_catalog_actor_restart_keeps_every_dataset(lakehouse, app_settings):
    before = lakehouse.catalog.datasets()
    assert before, "earlier tests registered datasets"
    handle = ray.get_actor(actor_name(Settings(**app_settings)), namespace="lakehouse")
    ray.kill(handle, no_restart=False)
    # the client retries the 503s answered while the actor restarts
    patient = lakehouse.with_options(retries=10, backoff_max_s=1.0)
    assert patient.catalog.datasets() == before
    assert patient.sql.query("SELECT count(*) FROM drifty")["rows"] == [[2]]
