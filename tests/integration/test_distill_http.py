"""Materialize and drift through Serve: the replica registers evidence through the catalog
actor and its SQL views follow; bad input is refused over HTTP with nothing written."""

from __future__ import annotations


def test_materialize_over_serve_then_sql_reads_the_evidence(http):
    # no chat provider is configured: the session fails with 503 and is still logged
    body = {"model": "nowhere", "kind": "sms", "prompt": "confirm the shift"}
    assert http.post("/v1/iterate", json=body).status_code == 503
    resp = http.post("/v1/distill/materialize", json={"transforms": ["sessions"]})
    assert resp.status_code == 200, resp.text
    receipt = resp.json()
    assert receipt["transforms"]["sessions"]["out"] == 1
    (output,) = receipt["outputs"]
    sql = f"SELECT status, attempts, verdicts FROM {output['dataset']}"
    assert http.post("/v1/sql", json={"sql": sql}).json()["rows"] == [
        ["provider_error", 1, ["provider_error"]]
    ]
    again = http.post("/v1/distill/materialize", json={"transforms": ["sessions"]}).json()
    assert again["rows_added"] == 0
    names = [d["name"] for d in http.get("/v1/catalog/datasets").json()["datasets"]]
    resp = http.post("/v1/drift/report", json={"kind": "verdict", "a": {"dataset": "nope"},
                                                "b": {"dataset": "nope"}})  # fmt: skip
    assert resp.status_code == 404 and "nope" in resp.json()["message"]
    assert http.post("/v1/distill/materialize", json={"transforms": ["x"]}).status_code == 400
    assert [d["name"] for d in http.get("/v1/catalog/datasets").json()["datasets"]] == names
