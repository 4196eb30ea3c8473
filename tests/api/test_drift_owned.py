"""Over the real app, embedder and shards: playbook drift's rank check names the recorded
success that retrieval no longer returns for its query; malformed objects forged straight
into the service's own prefixes (the storage routes refuse them) are reported and skipped by
every reader of baselines and receipts, never a 500, and reading writes nothing."""

from __future__ import annotations

from tests.api.test_iterate_tier import world  # noqa: F401 - the shared module fixture

QUERY = "forklift operator for the night shift"


def stored(store) -> list[str]:
    """Every key but the observer's (each request, a refused one too, is an event there)."""
    return sorted(o.key for o in store.iter_all("") if not o.key.startswith("observer/"))


def search(client, k: int) -> list[str]:
    body = {"query": QUERY, "corpora": [{"name": "workers"}], "k": k}
    resp = client.post("/v1/matrix/search", json=body)
    assert resp.status_code == 200, resp.text
    return [h["id"] for h in resp.json()["hits"]]


def test_playbook_drift_names_the_success_that_no_longer_ranks(world):  # noqa: F811
    client, _, _ = world
    ranked = search(client, 60)
    top, far = ranked[0], ranked[-1]  # the best match, and one far outside the top 5
    record = {"query": QUERY, "ids": [top, far], "outcome": "success"}
    assert client.post("/v1/matrix/playbooks/record", json=record).status_code == 200
    body = {"kind": "playbook", "b": {"dataset": "workers"}, "rank_corpus": "workers",
            "rank_k": 5}  # fmt: skip
    resp = client.post("/v1/drift/report", json=body)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert [e["id"] for e in report["statistics"]["no_longer_ranks"]] == [far]
    assert report["verdict"] == "drift" and report["sample_sizes"]["queries_searched"] == 1
    resp = client.post("/v1/drift/report", json={**body, "rank_corpus": "nowhere"})
    assert resp.status_code == 404 and "nowhere" in resp.json()["message"]


def test_malformed_baselines_and_receipts_are_reported_and_skipped(world):  # noqa: F811
    client, services, _ = world
    store = services.store
    receipt = client.post("/v1/distill/materialize", json={"transforms": ["sessions"]}).json()
    store.put("drift/baselines/torn.json", b'{"name": "torn", "fig')
    store.put("distill/receipts/9999999999999-forged.json", b'{"schema": "x"}')
    store.put("playbooks/_playbook/zz-forged.json", b"[]")
    keys = stored(store)
    resp = client.get("/v1/drift/baselines")
    assert resp.status_code == 200
    assert resp.json()["skipped"] == [
        {"key": "drift/baselines/torn.json", "reason": "unreadable (JSONDecodeError)"}]  # fmt: skip
    for path in ("/v1/drift/baselines/torn", "/v1/distill/receipts/9999999999999-forged"):
        resp = client.get(path)
        assert resp.status_code == 404 and "unreadable" in resp.json()["message"], resp.text
    resp = client.post("/v1/drift/report", json={"kind": "baseline", "baseline": "torn",
                                                 "b": {"dataset": "workers"}})  # fmt: skip
    assert resp.status_code == 404 and "unreadable" in resp.json()["message"]
    listed = client.get("/v1/distill/receipts").json()
    assert receipt["run_id"] in [r["run_id"] for r in listed["receipts"]]
    assert [s["key"] for s in listed["skipped"]] == ["distill/receipts/9999999999999-forged.json"]
    resp = client.post("/v1/drift/report", json={"kind": "playbook", "b": {"dataset": "workers"}})
    assert resp.status_code == 200, resp.text
    skipped = resp.json()["statistics"]["skipped_records"]
    assert [s["key"] for s in skipped] == ["playbooks/_playbook/zz-forged.json"]
    assert stored(store) == keys  # the readers wrote nothing
    assert store.get("drift/baselines/torn.json") == b'{"name": "torn", "fig'  # kept as is
