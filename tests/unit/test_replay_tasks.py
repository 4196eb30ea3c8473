"""The pieces the bulk replay job is made of, without Ray: tasks of the session log, the
flat rows tasks travel in between processes, the run-wide checks, and batch appends."""

from __future__ import annotations

import json

import pytest

from actors.jobs.replay import JobArgs
from lakehouse.distill.replay import ReplayOptions, check_tasks, make_run_id
from lakehouse.distill.tasks import row_task, session_tasks, task_row
from lakehouse.errors import InvalidInput
from lakehouse.iterate import SessionLog, read_sessions


def record(sid: str, kind: str = "fill", attempts: list | None = None) -> dict:
    raw = json.dumps({"candidates": [{"worker_id": "W1"}, {"worker_id": "W2"}]})
    default = [{"n": 1, "prompt": f"need {sid}", "raw": raw, "status": "accepted"}]
    return {"schema": "session.iterate.v1", "session_id": sid, "model": "m", "kind": kind,
            "max_iter": 2, "pinned": {"role": "Cook"}, "status": "accepted",
            "attempts": default if attempts is None else attempts}  # fmt: skip


def test_session_tasks_round_trip_through_flat_rows(tmp_path):
    log = tmp_path / "sessions.jsonl"
    lines = [record("a"), record("b", attempts=[]), record("a"), record("c", kind="sms")]
    log.write_text("\n".join(json.dumps(r) for r in lines) + "\n{torn\n")
    tasks = list(session_tasks(read_sessions(log)))
    assert [t.session_id for t in tasks] == ["a", "c"]  # no attempts: nothing to replay
    assert tasks[0].expected_ids == ("W1", "W2") and tasks[0].pinned == {"role": "Cook"}
    assert [row_task(task_row(t)) for t in tasks] == tasks


def test_recorded_sessions_read_the_store_after_an_older_local_file(tmp_path, settings):
    from lakehouse.distill.tasks import from_sessions, recorded_sessions
    from lakehouse.errors import NotFound
    from lakehouse.iterate.store_log import ObjectStoreSessionLog
    from lakehouse.storage import open_store

    store = open_store(settings)
    local = tmp_path / "sessions.jsonl"
    SessionLog(local).append(record("old"))
    ObjectStoreSessionLog(store).append(record("new"))  # as a replica on any node logs it
    tasks = from_sessions(recorded_sessions(store, local), ["new", "old"])
    assert [t.session_id for t in tasks] == ["new", "old"]
    assert [t.session_id for t in from_sessions(recorded_sessions(store), ["new"])] == ["new"]
    with pytest.raises(NotFound, match="old"):  # without the local file it is not found
        from_sessions(recorded_sessions(store, tmp_path / "none.jsonl"), ["old"])


def test_run_wide_checks_and_options():
    (task,) = [row_task({"task_id": "t", "prompt": "p", "kind": "poem"})]
    check_tasks([task], ReplayOptions(mode="retrieval"))  # asks no model: nothing to check
    with pytest.raises(InvalidInput, match="poem"):
        check_tasks([task], ReplayOptions(mode="full", model="m"))
    with pytest.raises(InvalidInput, match="no model"):
        check_tasks([row_task({"task_id": "t", "prompt": "p"})], ReplayOptions(mode="full"))
    opts = JobArgs(corpora="workers:2,notes", small_model="s", strong_model="b").options()
    assert [(c.name, c.weight) for c in opts.corpora] == [("workers", 2.0), ("notes", 1.0)]
    assert opts.tier is not None and opts.tier.small_model == "s"
    for bad in (JobArgs(k=0), JobArgs(mode="poetry"), JobArgs(small_model="s")):
        with pytest.raises(InvalidInput, match="bad replay options"):
            bad.options()
    assert make_run_id(1.5, "abcdef123456") == "000000000001500-abcdef12"


def test_append_many_writes_every_record_as_one_line_each(tmp_path):
    log = SessionLog(tmp_path / "replay.jsonl")
    log.append_many([])
    assert not log.path.exists()
    log.append({"n": 0})
    log.append_many([{"n": 1}, {"n": 2}])
    assert [json.loads(x)["n"] for x in log.path.read_text().splitlines()] == [0, 1, 2]


def test_the_job_over_an_empty_session_log_says_so_and_writes_nothing(settings):
    """No ``--sessions-log``, no session in the store nor in a legacy file: 400-class
    ``InvalidInput`` naming the store's log (a prefix is never "missing"), nothing written."""
    from types import SimpleNamespace

    from actors.jobs.replay import _tasks
    from lakehouse.storage import open_store

    store = open_store(settings)
    before = sorted(o.key for o in store.iter_all(""))
    with pytest.raises(InvalidInput, match="store:logs/sessions.iterate/ holds no replayable"):
        _tasks(
            JobArgs(),
            ReplayOptions(mode="retrieval"),
            SimpleNamespace(store=store, settings=settings),
        )
    assert sorted(o.key for o in store.iter_all("")) == before
