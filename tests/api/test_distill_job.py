"""The bulk materialize job's run, over an in-process catalog actor (no Ray cluster): the
same receipts as the route, registered through the catalog facade."""

from __future__ import annotations

import json

import pytest

from actors.catalog import CatalogActor
from actors.jobs.distill import run
from actors.remote.facade import Facade
from lakehouse.errors import InvalidInput

SESSION = {"schema": "session.iterate.v1", "session_id": "s1", "trace_id": "t1",
           "started_at": "2026-11-20T10:00:00.000+00:00",
           "finished_at": "2026-11-20T10:00:01.000+00:00", "model": "m", "kind": "sms",
           "attempts": [{"n": 1, "status": "accepted", "latency_ms": 5.0}],
           "status": "accepted"}  # fmt: skip


def test_the_job_materializes_once_and_then_adds_nothing(settings):
    settings.logs_dir.mkdir(parents=True)
    (settings.logs_dir / "sessions.iterate.jsonl").write_text(json.dumps(SESSION) + "\n")
    catalog = Facade(CatalogActor(settings))
    first = run(settings, catalog)
    assert first["rows_added"] == 1
    assert catalog.call_sync("get", "evidence_sessions_20261120").row_count == 1
    assert run(settings, catalog)["rows_added"] == 0
    with pytest.raises(InvalidInput):
        run(settings, catalog, ["nope"])
