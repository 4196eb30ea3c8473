"""The model-tier gate on ``POST /v1/iterate`` (scripted provider, real embedder and shards):
``tier`` instead of ``model`` picks the small or the strong model by the documented rule,
and the choice with its reason is in the answer and in the session row; bad input is
400/404 with no model asked and nothing logged."""

from __future__ import annotations

import json

import pytest

from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from tests.api.conftest import make_client
from tests.api.test_matrix_routes import add
from tests.fakes.scripted_chat import ScriptedProvider

ROWS = 60
SMS = json.dumps({"to": "+15551230000", "body": "Your shift starts at 7am."})


@pytest.fixture(scope="module")
def world(tmp_path_factory, model_cache):
    root = tmp_path_factory.mktemp("tier")
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()]
    chat = ScriptedProvider([SMS, SMS])
    client, services = make_client(Settings(data_dir=root / "data", sql_timeout_s=10.0), chat=chat)
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    csv = root / "workers.csv"
    write_csv(csv, ROWS)
    with client:
        resp = client.post("/v1/ingest", params={"name": "workers"},
                           files={"file": ("w.csv", csv.read_bytes())})  # fmt: skip
        assert resp.status_code in (200, 201), resp.text
        resp = client.post("/v1/vectors/corpora", json={"name": "workers", "dim": 384})
        assert resp.status_code == 201, resp.text
        add(client, "workers", rows)
        yield client, services, chat


def sessions(services) -> list[dict]:
    return ObjectStoreSessionLog(services.store).read()  # where every replica logs them


def body(**tier) -> dict:
    gate = {"small_model": "small-1", "strong_model": "strong-1", **tier}
    return {"kind": "sms", "prompt": "a forklift operator in Dallas for tonight", "tier": gate}


def test_bad_input_asks_no_model_and_logs_nothing(world):
    client, services, chat = world
    before, calls = sessions(services), len(chat.calls)
    bad = [
        ({**body(), "model": "m"}, 400, "exactly one of model or tier"),
        ({"kind": "sms", "prompt": "p"}, 400, "exactly one of model or tier"),
        (body(corpus="nowhere"), 404, "nowhere"),
        (body(confident_at=2), 400, "confident_at"),
        ({**body(), "tier": {"small_model": "s"}}, 400, "strong_model"),
    ]
    for sent, status, words in bad:
        resp = client.post("/v1/iterate", json=sent)
        assert resp.status_code == status, (sent, resp.text)
        assert words in resp.text
    assert sessions(services) == before and len(chat.calls) == calls


@pytest.mark.parametrize(
    ("confident_at", "tier", "model"), [(-1.0, "small", "small-1"), (1.0, "strong", "strong-1")]
)
def test_the_gate_picks_the_model_and_the_session_row_records_why(world, confident_at, tier, model):
    client, services, chat = world
    resp = client.post("/v1/iterate", json=body(confident_at=confident_at))
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["accepted"] and out["model"] == model and chat.calls[-1]["model"] == model
    sign = ">=" if tier == "small" else "<"
    assert (
        out["tier"]["tier"] == tier
        and out["tier"]["reason"] == f"top raw score {sign} {confident_at:g}"
    )
    assert isinstance(out["tier"]["best_score"], float)
    row = sessions(services)[-1]
    assert row["session_id"] == out["session_id"] and row["model"] == model
    assert row["tier"] == out["tier"]


def test_the_tier_reaches_the_session_evidence(world):
    client, _, _ = world
    receipt = client.post("/v1/distill/materialize", json={"transforms": ["sessions"]}).json()
    (day,) = [o["dataset"] for o in receipt["outputs"]]
    sql = f"SELECT tier, model FROM {day} ORDER BY tier"
    resp = client.post("/v1/sql", json={"sql": sql})
    assert resp.status_code == 200, resp.text
    assert resp.json()["rows"] == [["small", "small-1"], ["strong", "strong-1"]]
