"""``lakehouse distill`` and ``lakehouse drift`` against the real app over real HTTP
(uvicorn in a thread, in-process services, the real embedder, a scripted chat provider):
tables, ``--json``, exit codes by error class, and bad input that changes nothing."""

from __future__ import annotations

import json

import pytest

from lakehouse.cli import main
from lakehouse.cli.output import EXIT_AUTH, EXIT_INPUT, EXIT_NOT_FOUND
from lakehouse.client import Client
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from tests.api.conftest import make_client
from tests.api.live import serve_live
from tests.api.test_cli import run_json
from tests.fakes.scripted_chat import ScriptedProvider

TOKEN = "learning-cli-token"
SESSIONS = 12
ROWS = 40
GOOD_SMS = json.dumps({"to": "+15555550100", "body": "Shift confirmed for Monday 7am."})


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_cache):
    """The app with SESSIONS iterate sessions recorded, a roster dataset and its corpus."""
    root = tmp_path_factory.mktemp("cli-learning")
    settings = Settings(data_dir=root / "data", sql_timeout_s=10.0, auth_tokens=TOKEN)
    client, services = make_client(settings, chat=ScriptedProvider([GOOD_SMS] * SESSIONS))
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    csv = root / "people.csv"
    write_csv(csv, ROWS)
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()]
    with serve_live(client.app) as url, Client(url, token=TOKEN) as c:
        for _ in range(SESSIONS):
            c.iterate.run("tiny", "sms", "confirm the shift", max_iter=1)
        c.ingest.csv("people", csv)
        c.vectors.create("workers", dim=384)
        texts = [f"{r['role']}. {r['skills']}. {r['resume']}" for r in rows]
        c.vectors.add("workers", [r["worker_id"] for r in rows], texts=texts)
        yield url, services.store, rows


@pytest.fixture
def env(server, monkeypatch):
    url, _, _ = server
    monkeypatch.setenv("LAKEHOUSE_URL", url)
    monkeypatch.setenv("LAKEHOUSE_TOKEN", TOKEN)
    return server


@pytest.fixture(scope="module")
def day(server):
    """The sessions materialized through the CLI; their evidence day (UTC)."""
    url, _, _ = server
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_URL", url)
        mp.setenv("LAKEHOUSE_TOKEN", TOKEN)
        assert main(["distill", "materialize", "-t", "sessions"]) == 0
        with Client(url, token=TOKEN) as c:
            names = [d["name"] for d in c.catalog.datasets()]
    (name,) = [n for n in names if n.startswith("evidence_sessions_")]
    return f"{name[-8:-4]}-{name[-4:-2]}-{name[-2:]}"


def test_materialize_is_idempotent_and_prints_its_receipt(env, day, capsys):
    again = run_json(capsys, "distill", "materialize", "-t", "sessions")
    assert again["transforms"]["sessions"]["duplicate"] == SESSIONS
    assert again["rows_added"] == 0
    assert run_json(capsys, "distill", "receipt", again["run_id"]) == again
    capsys.readouterr()
    assert main(["distill", "materialize", "-t", "sessions"]) == 0
    out = capsys.readouterr().out
    assert "0 rows added" in out and "duplicate" in out


def test_verdict_and_baseline_reports_as_tables_and_json(env, day, capsys):
    window = f"sessions:{day}"
    report = run_json(capsys, "drift", "report", "verdict", "--a", window, "--b", window)
    assert report["verdict"] == "no_drift"
    assert report["sample_sizes"] == {"a": SESSIONS, "b": SESSIONS}
    saved = run_json(capsys, "drift", "save-baseline", "steady", f"{window}..{day}")
    assert saved["figures"]["n"] == SESSIONS and saved["figures"]["accepted_rate"] == 1.0
    assert run_json(capsys, "drift", "baseline", "steady") == saved
    capsys.readouterr()
    argv = ["drift", "report", "baseline", "--baseline", "steady", "--b", window]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "baseline drift: no_drift" in out and "breaches" in out


def test_embedding_drift_of_a_dataset_against_itself(env, capsys):
    argv = ["drift", "report", "embedding", "--a", "people", "--b", "people", "--column",
            "resume", "--sample", "20", "--permutations", "99"]  # fmt: skip
    report = run_json(capsys, *argv)
    assert report["verdict"] == "no_drift" and report["sample_sizes"] == {"a": 20, "b": 20}
    capsys.readouterr()
    assert main(argv) == 0
    assert "mmd2.p_value" in capsys.readouterr().out


def test_retrieval_replay_and_compare(env, tmp_path, capsys):
    _, _, rows = env
    target = rows[3]
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"task_id": "t1", "prompt": f"{target['role']} {target['skills']}",
                                  "expected_ids": [target["worker_id"]]}]))  # fmt: skip
    argv = ["distill", "replay", "--mode", "retrieval", "--tasks", str(tasks), "-c", "workers"]
    first = run_json(capsys, *argv, "-k", "10")
    (row,) = first["rows"]
    assert row["schema"] == "replay_run.v1" and row["hit_rank"] is not None
    second = run_json(capsys, *argv, "-k", "1")
    capsys.readouterr()
    assert main([*argv, "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "summary" in out and "t1" in out
    compared = run_json(capsys, "distill", "compare", first["run_id"], second["run_id"])
    assert set(compared) == {"a", "b", "delta"}
    capsys.readouterr()
    assert main(["distill", "compare", first["run_id"], second["run_id"]]) == 0
    assert "delta." in capsys.readouterr().out


def _bad_cases(tmp_path):
    not_json = tmp_path / "tasks.json"
    not_json.write_text("{not json")
    day = "sessions:2026-11-28"
    return [
        (["drift", "report", "verdict", "--a", "sessions:yesterday", "--b", day], EXIT_INPUT,
         "TRANSFORM:YYYY-MM-DD"),
        (["drift", "report", "verdict", "--a", "sessions:2026-13-40", "--b", day], EXIT_INPUT,
         "invalid_input"),
        (["drift", "report", "verdict", "--a", day, "--b", day, "--alpha", "5"], EXIT_INPUT,
         "alpha"),
        (["drift", "report", "sideways", "--a", "people", "--b", "people"], EXIT_INPUT, "kind"),
        (["drift", "report", "verdict", "--a", "missing", "--b", "people"], EXIT_NOT_FOUND,
         "not_found"),
        (["drift", "report", "baseline", "--baseline", "never", "--b", day], EXIT_NOT_FOUND,
         "never"),
        (["drift", "save-baseline", "x y", day], EXIT_INPUT, "invalid_input"),
        (["drift", "baseline", "never"], EXIT_NOT_FOUND, "no baseline"),
        (["distill", "materialize", "-t", "bogus"], EXIT_INPUT, "bogus"),
        (["distill", "receipt", "0000-nope"], EXIT_NOT_FOUND, "not_found"),
        (["distill", "replay", "--tasks", str(not_json), "--mode", "retrieval"], EXIT_INPUT,
         "not JSON"),
        (["distill", "replay", "--session", "nope", "--mode", "retrieval"], EXIT_NOT_FOUND,
         "nope"),
        (["distill", "replay", "--dataset", "people", "--session", "x"], EXIT_INPUT,
         "exactly one"),
        (["distill", "replay", "--session", "x", "-c", "workers:lots"], EXIT_INPUT, "weight"),
        (["drift", "baseline", "steady", "--token", "wrong"], EXIT_AUTH, "unauthorized"),
    ]  # fmt: skip


def _state(env):
    """Every object key (observer events aside: each request is one), and the datasets."""
    url, store, _ = env
    keys = sorted(o.key for o in store.iter_all("") if not o.key.startswith("observer/"))
    with Client(url, token=TOKEN) as c:
        return keys, c.catalog.datasets()


def test_bad_input_exits_by_class_and_changes_nothing(env, day, tmp_path, capsys):
    for argv, code, says in _bad_cases(tmp_path):
        before = _state(env)
        capsys.readouterr()
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert says in err, (argv, err)
        assert _state(env) == before, argv
