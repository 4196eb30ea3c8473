"""The ingress as ``serve_config.yaml`` deploys it (autoscaling), held at two replicas: both
answer SQL, search and matrix search correctly, and a write through one is seen by the
other's matrix cache (write generations learned from the shards)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml

from deployments.app import LakehouseAppArgs
from lakehouse.matrix import MatrixConfig
from lakehouse.settings import Settings
from tests.integration.conftest import TOKENS

CONFIG = Path(__file__).parents[2] / "deployments" / "serve_config.yaml"
CORPUS = "two_replicas"


@pytest.fixture(scope="module")
def http(serve_url, app_settings):
    """The serve config's app, autoscaling between two and two replicas."""
    from ray import serve

    from deployments.app import build_app

    args = yaml.safe_load(CONFIG.read_text())["applications"][0]["args"]
    assert LakehouseAppArgs.model_validate(args).autoscaling is not None
    args = {**args, "settings": app_settings, "replica_cpus": 0.25}
    args["autoscaling"] = {**args["autoscaling"], "min_replicas": 2, "max_replicas": 2}
    serve.run(build_app(args), name="lakehouse", route_prefix="/")
    headers = {"Authorization": f"Bearer {TOKENS[0]}"}
    with httpx.Client(base_url=serve_url, headers=headers, timeout=60) as client:
        yield client
    serve.delete("lakehouse")


def by_replica(call, rounds: int = 60) -> dict[str, list]:
    """Answers of ``call()`` grouped by the replica that served them, until two replicas
    answered (Serve picks the replica; ``rounds`` calls at most)."""
    seen: dict[str, list] = {}
    for _ in range(rounds):
        resp = call()
        assert resp.status_code == 200, resp.text
        seen.setdefault(resp.headers["x-lakehouse-replica"], []).append(resp.json())
        if len(seen) == 2 and all(len(v) >= 2 for v in seen.values()):
            break
    return seen


def matrix(http, vector):
    body = {"vector": vector, "corpora": [{"name": CORPUS}], "k": 3}
    return http.post("/v1/matrix/search", json=body)


def test_two_replicas_serve_sql_search_and_see_each_others_writes(http, tmp_path, app_settings):
    csv = tmp_path / "shifts.csv"
    csv.write_text("id,shift\n1,day\n2,night\n3,night\n")
    resp = http.post("/v1/ingest", params={"name": "shifts"}, content=csv.read_bytes(),
                     headers={"content-type": "text/csv"})  # fmt: skip
    assert resp.status_code == 201, resp.text
    sql = {"sql": "SELECT count(*) FROM shifts WHERE shift = 'night'"}
    answers = by_replica(lambda: http.post("/v1/sql", json=sql))
    assert len(answers) == 2 and all(a["rows"] == [[2]] for v in answers.values() for a in v)

    assert http.post("/v1/vectors/corpora", json={"name": CORPUS, "dim": 4, "shards": 2}).is_success
    vectors = {f"v{i}": [1.0, float(i), 0.0, 0.5] for i in range(8)}
    add = {"ids": list(vectors), "vectors": list(vectors.values())}
    assert http.post(f"/v1/vectors/corpora/{CORPUS}/add", json=add).json() == {"added": 8}
    query = [0.0, 0.0, 1.0, 0.0]  # nearest to no stored vector in particular
    search = {"vector": query, "k": 8}
    answers = by_replica(lambda: http.post(f"/v1/vectors/corpora/{CORPUS}/search", json=search))
    assert len(answers) == 2
    assert all({h["id"] for h in a["hits"]} == set(vectors) for v in answers.values() for a in v)

    warmed = by_replica(lambda: matrix(http, query))  # both replicas cache this answer
    assert len(warmed) == 2 and all(a["hits"][0]["id"] != "q" for v in warmed.values() for a in v)
    added = http.post(f"/v1/vectors/corpora/{CORPUS}/add", json={"ids": ["q"], "vectors": [query]})
    writer = added.headers["x-lakehouse-replica"]
    # the other replica learns the new generation from a shard answer within fresh_s
    time.sleep(MatrixConfig.from_settings(Settings(**app_settings)).fresh_s)
    fresh = by_replica(lambda: matrix(http, query))
    assert writer in fresh and len(fresh) == 2
    assert all(a["hits"][0]["id"] == "q" for v in fresh.values() for a in v)
