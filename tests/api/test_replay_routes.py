"""/v1/distill/replay over the real app, the real embedder, in-process shards and the roster:
recorded sessions replayed with the same provider script reproduce their verdicts row for
row; retrieval-only hit@1 rises after playbook records for the labelled intents; two runs
compared; bad input is 400/404 and writes nothing."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from lakehouse.distill.replay import replay_log as replay_log_of
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from lakehouse.staffing.intents import make_intents, relevant
from tests.api.conftest import make_client
from tests.api.test_matrix_routes import add
from tests.fakes.scripted_chat import ScriptedProvider

ROWS = 300


def crews(rows):
    groups = defaultdict(list)
    for r in rows:
        if r["available"]:
            groups[(r["role"], r["city"], r["state"])].append(r["worker_id"])
    return sorted(groups.items(), key=lambda kv: -len(kv[1]))[:3]


def fill(*ids: str) -> str:
    return json.dumps({"candidates": [{"worker_id": i} for i in ids]})


def sessions_script(teams) -> list[tuple[dict, int, list[str]]]:
    """(pinned, max_iter, replies): accepted at once; after a phantom; never (exhausted)."""
    out = []
    replies = [[fill(teams[0][1][0])], [fill("W9999999"), fill(teams[1][1][0])],
               [fill("W9999998"), fill("W9999997")]]  # fmt: skip
    for ((role, city, state), _ids), answer in zip(teams, replies, strict=True):
        pinned = {"role": role, "location": f"{city}, {state}", "target_count": 1}
        out.append((pinned, 2, answer))
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory, model_cache):
    root = tmp_path_factory.mktemp("replay")
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()]
    plan = sessions_script(crews(rows))
    script = [reply for _, _, replies in plan for reply in replies]
    # the originals, the replay, then one task under the tier gate
    chat = ScriptedProvider(script + script + [plan[0][2][0]])
    client, services = make_client(Settings(data_dir=root / "data", sql_timeout_s=10.0), chat=chat)
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    csv = root / "workers.csv"
    write_csv(csv, ROWS)
    with client:
        resp = client.post("/v1/ingest", params={"name": "workers"},
                           files={"file": ("w.csv", csv.read_bytes())})  # fmt: skip
        assert resp.status_code in (200, 201), resp.text
        assert (
            client.post("/v1/vectors/corpora", json={"name": "workers", "dim": 384}).status_code
            == 201
        )
        add(client, "workers", rows)
        session_ids = []
        for pinned, max_iter, _ in plan:
            body = {"model": "small-1", "kind": "fill", "max_iter": max_iter, "pinned": pinned,
                    "prompt": f"Two {pinned['role']} workers in {pinned['location']} tomorrow"}  # fmt: skip
            resp = client.post("/v1/iterate", json=body)
            assert resp.status_code == 200, resp.text
            session_ids.append(resp.json()["session_id"])
        client.services = services
        yield client, rows, session_ids


def replay_log(client) -> bytes:
    """The replay log's lines, as the object store holds them (a batch an object)."""
    return b"".join(
        json.dumps(row).encode() + b"\n" for row in replay_log_of(client.services.store).records()
    )


def test_bad_input_is_refused_and_nothing_is_written(world):
    client, _, session_ids = world
    before = replay_log(client)
    bad = [
        ({"sessions": [session_ids[0], "no-such-session"]}, 404, "no-such-session"),
        ({"sessions": session_ids, "corpora": [{"name": "nowhere"}]}, 404, "nowhere"),
        ({"sessions": session_ids, "tasks": [{"task_id": "t", "prompt": "p"}]}, 400, ""),
        ({}, 400, ""),
        ({"sessions": session_ids, "k": 0}, 400, ""),
        ({"dataset": "no_such_tasks", "mode": "retrieval"}, 404, "no_such_tasks"),
        ({"dataset": "workers", "mode": "retrieval"}, 400, "task_id"),
        ({"tasks": [{"task_id": "t", "prompt": "p", "kind": "poem", "model": "m"}]}, 400, "poem"),
        ({"tasks": [{"task_id": "t", "prompt": "p"}], "mode": "full"}, 400, "no model"),
    ]
    for body, status, words in bad:
        resp = client.post("/v1/distill/replay", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert words in resp.json()["message"] + json.dumps(resp.json().get("details"))
    resp = client.post("/v1/distill/replay/compare", json={"a": "1-x", "b": "2-y"})
    assert resp.status_code == 404
    assert replay_log(client) == before


def test_replay_with_the_same_script_reproduces_the_verdicts_row_for_row(world):
    client, _, session_ids = world
    resp = client.post("/v1/distill/replay", json={"sessions": session_ids, "mode": "full"})
    assert resp.status_code == 200, resp.text
    run = resp.json()
    rows = run["rows"]
    assert [r["session_id"] for r in rows] == session_ids  # joined to the originals
    assert [r["verdicts"] for r in rows] == [r["original_verdicts"] for r in rows]
    assert [r["verdicts"] for r in rows] == [
        ["accepted"], ["rejected", "accepted"], ["rejected", "rejected"]]  # fmt: skip
    assert all(r["verdicts_match"] for r in rows)
    assert [r["status"] for r in rows] == ["accepted", "accepted", "exhausted"]
    assert rows[0]["expected_ids"] and rows[0]["hit_rank"] is not None
    assert "Roster facts retrieved" in rows[0]["attempts"][0]["prompt"]  # the bundle
    figures = run["summary"]["all"]
    assert figures["first_shot_rate"] == pytest.approx(1 / 3)
    assert figures["accepted_rate"] == pytest.approx(2 / 3)
    assert figures["verdicts_match_rate"] == 1.0
    logged = [json.loads(line) for line in replay_log(client).splitlines()]
    assert [r["session_id"] for r in logged if r["run_id"] == run["run_id"]] == session_ids
    # the tier gate picks the model from retrieval and records why
    task = {"task_id": "tier-1", "prompt": "a forklift operator for tonight", "max_iter": 1}
    tier = {"small_model": "small-1", "strong_model": "strong-1", "confident_at": -1}
    resp = client.post("/v1/distill/replay", json={"tasks": [task], "tier": tier, "bundle_k": 0})
    assert resp.status_code == 200, resp.text
    (row,) = resp.json()["rows"]
    assert row["tier"]["tier"] == "small" and row["model"] == "small-1"
    assert row["tier"]["reason"] == "top raw score >= -1"


def test_retrieval_only_hit_at_1_rises_after_playbook_records(world):
    client, rows, _ = world
    intents = make_intents(rows, per_role=1, min_relevant=3)[:8]
    tasks = []
    for intent in intents:
        picked = sorted(relevant(intent, rows))[-1:]  # the one the recruiter placed
        tasks.append({"task_id": intent.key, "prompt": intent.phrasings[0],
                      "expected_ids": picked})  # fmt: skip
    body = {"tasks": tasks, "mode": "retrieval", "k": 10}
    before = client.post("/v1/distill/replay", json=body).json()
    records = [{"query": t["prompt"], "ids": t["expected_ids"], "outcome": "success"}
               for t in tasks]  # fmt: skip
    resp = client.post("/v1/matrix/playbooks/record/bulk", json={"records": records})
    assert resp.status_code == 200, resp.text
    after = client.post("/v1/distill/replay", json=body).json()
    hit1_before = before["summary"]["all"]["hit_at_1"]
    hit1_after = after["summary"]["all"]["hit_at_1"]
    assert hit1_after > hit1_before and hit1_after == 1.0
    assert all("attempts" not in r for r in after["rows"])  # no model was asked
    resp = client.post("/v1/distill/replay/compare",
                       json={"a": before["run_id"], "b": after["run_id"]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    delta = resp.json()["delta"]["all"]
    assert delta["hit_at_1"] == pytest.approx(hit1_after - hit1_before)


def test_a_dataset_of_tasks_replays_in_retrieval_mode(world):
    client, rows, _ = world
    lead = rows[0]
    csv = "task_id,prompt,expected_ids\n" + "\n".join(
        f"t{i},{r['role']} in {r['city']} {r['state']},{r['worker_id']}"
        for i, r in enumerate(rows[:3])
    )
    resp = client.post("/v1/ingest", params={"name": "replay_tasks"},
                       files={"file": ("t.csv", csv.encode())})  # fmt: skip
    assert resp.status_code == 201, resp.text
    resp = client.post("/v1/distill/replay", json={"dataset": "replay_tasks", "mode": "retrieval"})
    assert resp.status_code == 200, resp.text
    out = resp.json()["rows"]
    assert [r["session_id"] for r in out] == ["t0", "t1", "t2"]
    assert out[0]["expected_ids"] == [lead["worker_id"]] and len(out[0]["retrieved_ids"]) == 10
