"""The ``lakehouse`` CLI against the real app over real HTTP (uvicorn in a thread,
in-process services, the real embedder): tables, ``--json``, exit codes by error class."""

from __future__ import annotations

import json

import pytest

from lakehouse.cli import main
from lakehouse.cli.output import EXIT_AUTH, EXIT_CONFLICT, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_SERVER
from lakehouse.client import Client
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from tests.api.conftest import make_client
from tests.api.live import serve_live
from tests.conftest import free_port

ROWS = 60
TOKEN = "cli-test-token"
QUERY = "forklift operator for a night shift warehouse"


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_cache):
    root = tmp_path_factory.mktemp("cli")
    settings = Settings(data_dir=root / "data", sql_timeout_s=10.0, auth_tokens=TOKEN)
    client, services = make_client(settings)
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    csv = root / "workers.csv"
    write_csv(csv, ROWS)
    with serve_live(client.app) as url:
        yield url, csv


@pytest.fixture
def env(server, monkeypatch):
    url, _ = server
    monkeypatch.setenv("LAKEHOUSE_URL", url)
    monkeypatch.setenv("LAKEHOUSE_TOKEN", TOKEN)
    return url


def run_json(capsys, *argv):
    capsys.readouterr()
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


@pytest.fixture(scope="module")
def ingested(server):
    """The roster ingested through the CLI, then embedded into `workers` with the client."""
    url, csv = server
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_URL", url)
        mp.setenv("LAKEHOUSE_TOKEN", TOKEN)
        assert main(["ingest", str(csv), "--name", "workers"]) == 0
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()]
    with Client(url, token=TOKEN) as client:
        client.vectors.create("workers", dim=384)
        texts = [f"{r['role']}. {r['skills']}. {r['shift']} shift. {r['resume']}" for r in rows]
        metadata = [{"role": r["role"], "shift": r["shift"]} for r in rows]
        client.vectors.add(
            "workers", [r["worker_id"] for r in rows], texts=texts, metadata=metadata
        )
    return rows


def test_ingest_then_sql_as_a_table_and_as_json(env, ingested, capsys):
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM workers"]) == 0
    out = capsys.readouterr().out
    assert "1 rows" in out and str(ROWS) in out
    result = run_json(capsys, "sql", "SELECT shift, count(*) AS n FROM workers GROUP BY 1")
    assert sum(row[1] for row in result["rows"]) == ROWS
    datasets = run_json(capsys, "datasets")
    assert [d["name"] for d in datasets] == ["workers"]


def test_ingest_of_another_schema_is_a_conflict_and_changes_nothing(
    env, ingested, tmp_path, capsys
):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    capsys.readouterr()
    assert main(["ingest", str(other), "--name", "workers"]) == EXIT_CONFLICT
    assert "schema" in capsys.readouterr().err
    assert run_json(capsys, "sql", "SELECT count(*) FROM workers")["rows"] == [[ROWS]]


def test_search_and_matrix_with_a_recorded_outcome(env, ingested, capsys):
    found = run_json(capsys, "search", "workers", "registered nurse", "-k", "3")
    assert len(found["hits"]) == 3
    answer = run_json(capsys, "matrix", "search", QUERY, "-c", "workers:1.5", "-k", "6")
    ids = [h["id"] for h in answer["hits"]]
    assert answer["hits"][0]["explanation"]["corpus"] == "workers"
    recorded = run_json(capsys, "matrix", "record", QUERY, "--id", ids[-1], "--outcome", "success")
    assert recorded[0]["who"].startswith("token:")
    again = run_json(capsys, "matrix", "search", QUERY, "-c", "workers", "-k", "6")
    assert (
        again["hits"][0]["id"] == ids[-1] and again["hits"][0]["explanation"]["playbook_boost"] > 0
    )
    audit = run_json(capsys, "matrix", "playbook", "--limit", "5")
    assert audit[0]["ids"] == [ids[-1]]
    capsys.readouterr()
    assert main(["matrix", "search", QUERY, "-c", "workers", "-k", "3"]) == 0
    assert "boost" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["sql", "DROP TABLE workers"], EXIT_INPUT, "query_rejected"),
        (["search", "nope", "x"], EXIT_NOT_FOUND, "not_found"),
        (["search", "workers", "x", "--filter", "{bad"], EXIT_INPUT, "not JSON"),
        (["matrix", "search", "x", "-c", "workers:heavy"], EXIT_INPUT, "weight"),
        (["matrix", "record", "q", "--id", "a", "--outcome", "maybe"], EXIT_INPUT, "invalid_input"),
        (["sql", "SELECT 1", "--token", "wrong"], EXIT_AUTH, "unauthorized"),
    ],
)
def test_errors_exit_by_class_and_change_nothing(env, ingested, capsys, argv, code, says):
    before = run_json(capsys, "matrix", "playbook")
    assert main(argv) == code
    assert says in capsys.readouterr().err
    assert run_json(capsys, "matrix", "playbook") == before
    assert run_json(capsys, "sql", "SELECT count(*) FROM workers")["rows"] == [[ROWS]]


def test_an_unreachable_server_is_its_own_exit_code(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["sql", "SELECT 1", "--url", url]) == EXIT_SERVER
    assert "cannot reach the server" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["ingest", "/no/such/file.csv", "--name", "x"]) == 2
    assert main(["matrix", "search", "q"]) == 2  # --corpus is required
