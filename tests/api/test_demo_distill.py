"""The learning-loop step of ``make run`` over the real app (in process): it records
playbook successes, ingests a changed roster, materializes and reports drift, no LLM."""

from __future__ import annotations

import json
import re

from deployments import demo_distill
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from tests.api.conftest import make_client
from tests.api.test_matrix_routes import add

ROWS = 300


def test_demo_step_materializes_and_names_the_changed_successes(tmp_path, model_cache, capsys):
    client, services = make_client(Settings(data_dir=tmp_path / "data", sql_timeout_s=10.0))
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    csv_path = tmp_path / "workers.csv"
    write_csv(csv_path, ROWS)
    with client:
        with open(csv_path, "rb") as fh:
            client.post("/v1/ingest", params={"name": "workers"}, files={"file": fh})
        client.post("/v1/vectors/corpora", json={"name": "workers", "dim": 384})
        add(client, "workers", [r for b in generate_batches(ROWS) for r in b.to_pylist()])
        demo_distill.run(client, csv_path)
    out = capsys.readouterr().out
    first = re.search(r"materialize: (\d+) evidence rows added", out)
    again = re.search(r"materialize again: (\d+) rows already there, none added twice; "
                      r"new since the first run: (\{.*\})", out)  # fmt: skip
    assert first and again, out
    assert int(again[1]) == int(first[1]) > 0  # every row of the first run found, none re-added
    assert set(json.loads(again[2])) <= {"observer_events"}  # the only source that grew
    assert "playbook drift: drift; removed ['W" in out and "'Dispatcher')]" in out
    assert "(3 queries searched)" in out  # the rank check ran for each recorded query
    assert "embedding drift workers -> workers_next: no_drift" in out
    names = {m.name for m in services.catalog.target.catalog.list()}
    assert any(n.startswith("evidence_playbook_records_") for n in names)
