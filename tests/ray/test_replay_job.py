"""The Ray Data replay job: recorded sessions and a task dataset replayed in retrieval mode
against real shard actors (the bulk embed job builds the corpus); one ``replay_run.v1`` row
per task in the replay log, a receipt in the store; bad input refused with nothing written."""

from __future__ import annotations

import json

import pytest
import ray

from actors.jobs.bulk_embed import JobArgs as EmbedArgs
from actors.jobs.bulk_embed import run as embed_run
from actors.jobs.replay import RECEIPTS_PREFIX, JobArgs, run
from actors.vectors import shard_name
from lakehouse.distill.replay import replay_log as replay_log_of
from lakehouse.distill.sources import SESSION_LOG_FILE, SESSION_PREFIX
from lakehouse.embed import EmbedConfig
from lakehouse.errors import InvalidInput, NotFound
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches
from lakehouse.storage import open_store
from tests.ray.test_bulk_embed import register, register_csv

pytestmark = pytest.mark.usefixtures("ray_session")
ROWS = 120


def session(sid: str, prompt: str, worker_id: str) -> dict:
    reply = json.dumps({"candidates": [{"worker_id": worker_id}]})
    return {"schema": "session.iterate.v1", "session_id": sid, "trace_id": f"t-{sid}",
            "model": "small-1", "kind": "fill", "max_iter": 2, "pinned": {},
            "attempts": [{"n": 1, "prompt": prompt, "raw": reply, "status": "accepted"}],
            "status": "accepted"}  # fmt: skip


@pytest.fixture
def world(tmp_path, model_cache):
    settings = Settings(data_dir=tmp_path / "data", embed=EmbedConfig(cache_dir=model_cache))
    register(settings, tmp_path, "workers", ROWS)
    embed_run(EmbedArgs(dataset="workers", corpus="workers", shards=1), settings)
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()][:6]
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    with open(settings.logs_dir / SESSION_LOG_FILE, "w") as fh:  # an older version's local log
        for i, r in enumerate(rows):
            prompt = f"{r['role']} in {r['city']}, {r['state']}: {r['skills']}"
            if i < 2:
                fh.write(json.dumps(session(f"s{i}", prompt, r["worker_id"])) + "\n")
            else:  # where every replica logs them now, on any node
                ObjectStoreSessionLog(store).append(session(f"s{i}", prompt, r["worker_id"]))
        fh.write('{"torn line\n')  # a damaged line is skipped, not fatal
    store.put(f"{SESSION_PREFIX}/2026-11-29/0-torn.json", b'{"torn')  # and so is a torn object
    yield settings, rows
    ray.kill(ray.get_actor(shard_name(settings, "workers", 0), "lakehouse"), no_restart=True)


def replay_log(settings) -> list[dict]:
    """The replay log's rows, read from the object store (where any node's job writes)."""
    return replay_log_of(open_store(settings)).read()


def test_the_job_replays_every_recorded_session_and_writes_a_receipt(world):
    settings, rows = world
    receipt = run(JobArgs(batch_size=4, progress_every_s=0.0), settings)
    assert receipt["tasks"] == receipt["rows_written"] == len(rows)
    logged = replay_log(settings)
    assert sorted(r["session_id"] for r in logged) == [f"s{i}" for i in range(len(rows))]
    assert {r["run_id"] for r in logged} == {receipt["run_id"]}
    assert all(r["mode"] == "retrieval" and "attempts" not in r for r in logged)  # no model
    assert all(len(r["retrieved_ids"]) == 10 for r in logged)
    by_id = {r["session_id"]: r for r in logged}
    assert by_id["s0"]["expected_ids"] == [rows[0]["worker_id"]]
    assert receipt["summary"]["all"]["n"] == len(rows)
    assert receipt["summary"]["all"]["hit_at_k"] is not None
    stored = json.loads(open_store(settings).get(f"{RECEIPTS_PREFIX}{receipt['run_id']}.json"))
    assert stored["rows_written"] == len(rows) and stored["source"]["sessions_log"]


def test_a_task_dataset_is_read_by_ray_data_and_bad_input_writes_nothing(world, tmp_path):
    settings, rows = world
    csv = "task_id,prompt,expected_ids\n" + "\n".join(
        f"t{i},{r['role']} in {r['city']} {r['state']},{r['worker_id']}" for i, r in enumerate(rows)
    )
    register_csv(settings, tmp_path, "replay_tasks", csv)
    register_csv(settings, tmp_path, "no_prompts", "task_id,text\nt1,x\n")
    bad = [
        (JobArgs(dataset="no_such_tasks"), NotFound, "no_such_tasks"),
        (JobArgs(dataset="no_prompts"), InvalidInput, "prompt"),
        (JobArgs(dataset="replay_tasks", corpora="nowhere"), NotFound, "nowhere"),
        (JobArgs(dataset="replay_tasks", k=0), InvalidInput, "k"),
        (JobArgs(dataset="replay_tasks", mode="full"), InvalidInput, "no model"),
        (JobArgs(sessions_log=str(tmp_path / "none.jsonl")), NotFound, "none.jsonl"),
    ]
    for args, error, words in bad:
        with pytest.raises(error, match=words):
            run(args, settings)
    assert replay_log(settings) == []
    receipt = run(JobArgs(dataset="replay_tasks", limit=4, batch_size=3), settings)
    logged = replay_log(settings)
    assert receipt["rows_written"] == 4 and len(logged) == 4
    assert {r["session_id"] for r in logged} <= {f"t{i}" for i in range(len(rows))}
    assert receipt["source"] == {"dataset": "replay_tasks"}
