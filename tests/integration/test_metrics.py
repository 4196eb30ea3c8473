"""The project's own metrics reach Ray's Prometheus endpoint after real traffic.

Real HTTP through Serve (ingest, SQL, vectors, playbook, drift, validators, pathway, observer)
and a real bulk job; then the session Ray's metrics export port is scraped until every
``lakehouse_*`` metric is there with the value the traffic implies.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from actors.jobs.bulk_embed import JobArgs, run
from actors.metrics import SPECS
from lakehouse.embed import EmbedConfig
from lakehouse.settings import Settings
from lakehouse.staffing import write_csv

CORPUS = "metrics_people"
BULK = "metrics_bulk"
ROWS = 120
SEARCHES = 20
Samples = dict[str, list[tuple[dict[str, str], float]]]


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory, model_cache) -> dict:
    data_dir = tmp_path_factory.mktemp("metrics-data")
    return {"data_dir": str(data_dir), "embed": {"cache_dir": str(model_cache)}}


def scrape(port: int) -> Samples:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float | None:
    """Sum of ``ray_<name>`` (counters may carry ``_total``) over series matching ``labels``;
    None when no series matches."""
    found = None
    for candidate in (f"ray_{name}", f"ray_{name}_total"):
        for tags, value in samples.get(candidate, []):
            if all(tags.get(k) == v for k, v in labels.items()):
                found = (found or 0.0) + value
    return found


def traffic(http, tmp_path, app_settings, model_cache) -> dict:
    csv = tmp_path / "workers.csv"
    write_csv(csv, ROWS)
    with open(csv, "rb") as fh:
        resp = http.post("/v1/ingest", params={"name": "workers"}, files={"file": ("w.csv", fh)})
    assert resp.status_code == 201, resp.text
    assert http.post("/v1/sql", json={"sql": "SELECT count(*) FROM workers"}).status_code == 200
    assert http.post("/v1/sql", json={"sql": "DROP TABLE workers"}).status_code == 400
    resp = http.post("/v1/vectors/corpora", json={"name": CORPUS, "dim": 4, "shards": 2})
    assert resp.status_code == 201, resp.text
    ids = [f"p{i}" for i in range(10)]
    vectors = [[1.0, i, 0.5, 0.25] for i in range(10)]
    add = http.post(f"/v1/vectors/corpora/{CORPUS}/add", json={"ids": ids, "vectors": vectors})
    assert add.json() == {"added": 10}
    for _ in range(SEARCHES):  # the first go to the shards; then the replica's read copies
        search = http.post(f"/v1/vectors/corpora/{CORPUS}/search", json={"vector": vectors[3]})
        assert search.status_code == 200 and search.json()["hits"][0]["id"] == "p3"
        time.sleep(0.2)
    sms = {"to": "+15555550100", "body": "Your shift starts at 7am tomorrow."}
    assert http.post("/v1/validate", json={"kind": "sms", "payload": sms}).status_code == 200
    bad = {"kind": "email", "payload": {"to": "a@b.co"}}
    assert http.post("/v1/validate", json=bad).status_code == 422
    resp = http.post("/v1/pathway/traces", json={"content": {"shift": "night"}, "tags": ["m"]})
    assert resp.status_code == 201, resp.text
    record = {"query": "welder", "ids": ["w1"], "outcome": "success"}
    assert http.post("/v1/matrix/playbooks/record", json=record).status_code == 200
    drift = {"kind": "playbook", "b": {"dataset": "workers"}}  # w1 is not on the roster
    resp = http.post("/v1/drift/report", json=drift)
    assert resp.status_code == 200 and resp.json()["verdict"] == "drift", resp.text
    embed = EmbedConfig(cache_dir=model_cache)
    job = JobArgs(dataset="workers", corpus=BULK, limit=60, write_batch=30, batch_size=30)
    return {"csv_bytes": csv.stat().st_size, "job": run(job, Settings(**app_settings), embed)}


def expectations(csv_bytes: int) -> list[tuple[str, dict, Callable[[float], bool], str]]:
    """(metric, labels, check of the value summed over matching series, what it wants)."""
    one = (lambda v: v >= 1, ">= 1")
    positive = (lambda v: v > 0, "> 0")
    return [
        ("lakehouse_http_requests", {"route": "/v1/sql", "status": "400"}, *one),
        ("lakehouse_http_latency_ms_count", {"route": "/v1/ingest"}, *one),
        ("lakehouse_http_latency_ms_sum", {"route": "/v1/ingest"}, *positive),
        ("lakehouse_ingest_rows", {"dataset": "workers"}, lambda v: v == ROWS, f"= {ROWS}"),
        ("lakehouse_ingest_bytes", {"dataset": "workers"}, lambda v: v == csv_bytes, "= csv"),
        ("lakehouse_sql_latency_ms_count", {"outcome": "ok"}, *one),
        ("lakehouse_sql_refusals", {"error": "query_rejected"}, *one),
        ("lakehouse_vector_adds", {"corpus": CORPUS}, lambda v: v == 10, "= 10"),
        # each search asks both shards, each through its actor or the replica's copy
        (
            "lakehouse_vector_searches",
            {"corpus": CORPUS},
            lambda v: 2 <= v < 2 * SEARCHES,
            ">= 2: the first search",
        ),
        (
            "lakehouse_vector_local_searches",
            {"corpus": CORPUS},
            lambda v: 0 < v <= 2 * SEARCHES,
            "> 0: once the copies are current",
        ),
        ("lakehouse_shard_vectors", {"corpus": CORPUS}, lambda v: v == 10, "= 10"),
        ("lakehouse_shard_log_bytes", {"corpus": CORPUS}, lambda v: v > 40, "> 40 bytes"),
        ("lakehouse_shard_snapshot_age_s", {"corpus": CORPUS}, lambda v: v >= 0, ">= 0"),
        ("lakehouse_shard_recovery_s", {"corpus": CORPUS}, lambda v: 0 <= v < 60, "< 60 s"),
        ("lakehouse_bulk_rows_written", {"corpus": BULK}, lambda v: v == 60, "= 60"),
        ("lakehouse_bulk_rows_per_s", {"corpus": BULK}, *positive),
        ("lakehouse_embed_batch_latency_ms_count", {"where": "bulk"}, lambda v: v >= 2, ">= 2"),
        ("lakehouse_validator_verdicts", {"kind": "sms", "verdict": "valid"}, *one),
        ("lakehouse_validator_verdicts", {"kind": "email", "error_class": "Schema"}, *one),
        ("lakehouse_playbook_records", {"mode": "single"}, *one),
        ("lakehouse_observer_ring_events", {}, *one),
        ("lakehouse_observer_ring_fill", {}, *positive),
        ("lakehouse_pathway_traces", {"state": "live"}, *one),
        ("lakehouse_drift_statistic", {"kind": "playbook", "verdict": "drift"}, *one),
    ]


def unmet(samples: Samples, expected: list) -> list[str]:
    return [
        f"{name}{labels}: {value} (want {says})"
        for name, labels, check, says in expected
        if (value := total(samples, name, **labels)) is None or not check(value)
    ]


def test_every_metric_is_scraped_with_a_plausible_value(
    http, tmp_path, app_settings, model_cache, metrics_port
):
    done = traffic(http, tmp_path, app_settings, model_cache)
    assert done["job"]["rows_embedded"] == 60
    expected = expectations(done["csv_bytes"])
    # every metric the module defines is checked here
    checked = {name.removesuffix("_count").removesuffix("_sum") for name, *_ in expected}
    assert checked == set(SPECS)
    deadline, missing = time.monotonic() + 90, ["not scraped yet"]
    while missing and time.monotonic() < deadline:  # Ray exports every few seconds
        missing = unmet(scrape(metrics_port), expected)
        time.sleep(2)
    assert not missing, missing
