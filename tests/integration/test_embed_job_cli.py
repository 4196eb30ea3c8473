"""``lakehouse embed-job`` against a real Ray head's job server (``ray start --head`` with the
dashboard, token auth on): a real bulk embed job submitted, waited for, its logs read; bad
input, a wrong token and unknown ids exit by class and submit nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.catalog.catalog import Catalog
from lakehouse.cli import main
from lakehouse.cli.output import EXIT_AUTH, EXIT_INPUT, EXIT_INTERNAL, EXIT_NOT_FOUND, EXIT_SERVER
from lakehouse.ingest import csv_to_parquet
from lakehouse.settings import Settings
from lakehouse.staffing import write_csv
from lakehouse.storage import open_store
from tests.conftest import free_port
from tests.integration.ray_head import ray_head

ROWS = 30


@pytest.fixture(scope="module")
def head():
    with ray_head() as started:
        yield started


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data dir whose catalog holds ``people`` (the job's actors restore it from there)."""
    root = tmp_path_factory.mktemp("embed-job")
    settings = Settings(data_dir=root / "data")
    csv = root / "people.csv"
    write_csv(csv, ROWS)
    conv = csv_to_parquet(csv, root / "people.parquet", max_bytes=1 << 30)
    store = open_store(settings)
    store.put_file("staging/people.parquet", Path(conv.path))
    Catalog(store).register("people", conv.columns, conv.row_count, "staging/people.parquet")
    return settings.data_dir.resolve()


@pytest.fixture
def env(head, monkeypatch, tmp_path):
    monkeypatch.setenv("RAY_ADDRESS", head.address)
    monkeypatch.setenv("RAY_AUTH_TOKEN", head.token)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token of this machine's
    return head


def run_json(capsys, *argv, code=0):
    capsys.readouterr()
    got = main([*argv, "--json"])
    out = capsys.readouterr()
    assert got == code, out.err
    return json.loads(out.out)


@pytest.mark.timeout(900)  # a head start, an ONNX export and a Ray Data job on two busy cores
def test_submit_wait_status_and_logs_of_a_real_bulk_embed_job(env, data_dir, model_cache, capsys):
    submitted = run_json(capsys, "embed-job", "submit", "--dataset", "people", "--corpus",
                         "people", "--shards", "1", "--limit", "20", "--batch-size", "16",
                         "--env", f"LAKEHOUSE_DATA_DIR={data_dir}",
                         "--env", f"LAKEHOUSE_EMBED_CACHE_DIR={model_cache}")  # fmt: skip
    job = submitted["submission_id"]
    assert "-m actors.jobs.bulk_embed --dataset people" in submitted["entrypoint"]
    done = run_json(capsys, "embed-job", "status", job, "--wait", "--timeout", "600")
    assert done["status"] == "SUCCEEDED", done
    capsys.readouterr()
    assert main(["embed-job", "logs", job]) == 0
    assert "embedded 20 rows (0 already indexed)" in capsys.readouterr().out
    listed = run_json(capsys, "embed-job", "status")
    assert job in [j["submission_id"] for j in listed]
    assert main(["embed-job", "status", job]) == 0
    assert "SUCCEEDED" in capsys.readouterr().out
    stopped = run_json(capsys, "embed-job", "stop", job)
    assert stopped == {"submission_id": job, "stopped": False}  # it had ended


def test_a_job_that_fails_on_the_cluster_exits_1_with_its_message(env, data_dir, capsys):
    submitted = run_json(capsys, "embed-job", "submit", "--dataset", "nobody",
                         "--env", f"LAKEHOUSE_DATA_DIR={data_dir}")  # fmt: skip
    job = submitted["submission_id"]
    done = run_json(capsys, "embed-job", "status", job, "--wait", "--timeout", "200",
                    code=EXIT_INTERNAL)  # fmt: skip
    assert done["status"] == "FAILED"
    capsys.readouterr()
    assert main(["embed-job", "logs", job]) == 0
    assert "nobody" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["submit", "--dataset", "no such"], EXIT_INPUT, "--dataset"),
        (["submit", "--corpus", "a/b"], EXIT_INPUT, "--corpus"),
        (["submit", "--env", "NO_EQUALS"], EXIT_INPUT, "KEY=VALUE"),
        (["submit", "--working-dir", "."], EXIT_INPUT, "remote zip"),
        (["submit", "--limit", "0"], EXIT_INPUT, "--limit"),
        (["submit", "--address", "ray://127.0.0.1:10001"], EXIT_INPUT, "http(s)://"),
        (["status", "raysubmit_nope"], EXIT_NOT_FOUND, "does not exist"),
        (["logs", "raysubmit_nope"], EXIT_NOT_FOUND, "does not exist"),
        (["stop", "raysubmit_nope"], EXIT_NOT_FOUND, "does not exist"),
    ],
)
def test_bad_input_exits_by_class_and_submits_nothing(env, capsys, argv, code, says):
    before = run_json(capsys, "embed-job", "status")
    capsys.readouterr()
    assert main(["embed-job", *argv]) == code
    assert says in capsys.readouterr().err
    assert run_json(capsys, "embed-job", "status") == before


def test_the_token_is_checked_and_nothing_is_submitted_without_it(env, monkeypatch, capsys):
    before = run_json(capsys, "embed-job", "status")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-token")
    assert main(["embed-job", "submit", "--dataset", "people"]) == EXIT_AUTH
    assert "Invalid authentication token" in capsys.readouterr().err
    monkeypatch.delenv("RAY_AUTH_TOKEN")  # and HOME has no ~/.ray/auth_token
    assert main(["embed-job", "status"]) == EXIT_AUTH
    assert "Missing authentication token" in capsys.readouterr().err
    monkeypatch.setenv("RAY_AUTH_TOKEN", env.token)
    assert run_json(capsys, "embed-job", "status") == before


def test_an_unreachable_job_server_exits_6(monkeypatch, capsys):
    monkeypatch.setenv("RAY_ADDRESS", f"http://127.0.0.1:{free_port()}")
    assert main(["embed-job", "status"]) == EXIT_SERVER
    assert "cannot reach the server" in capsys.readouterr().err
