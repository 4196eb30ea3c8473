"""What the CLI builds before it sends anything: the job's entrypoint and runtime env, Ray's
token lookup, the job server address, and drift windows from their short form."""

from __future__ import annotations

import shlex
import sys

import pytest

from lakehouse.cli.embed_job import bulk_embed_entrypoint, runtime_env
from lakehouse.cli.learning import flatten, window
from lakehouse.client.ray_jobs import job_server_url, ray_token
from lakehouse.errors import InvalidInput


def test_the_entrypoint_is_the_bulk_job_with_only_the_flags_given():
    flags = {"dataset": "parts", "corpus": "parts", "shards": None, "num_gpus": 1.0,
             "text_template": "{title}: {notes}", "limit": None}  # fmt: skip
    entry = bulk_embed_entrypoint(sys.executable, flags)
    assert shlex.split(entry) == [
        sys.executable, "-m", "actors.jobs.bulk_embed", "--dataset", "parts",
        "--corpus", "parts", "--num-gpus", "1.0", "--text-template", "{title}: {notes}",
    ]  # fmt: skip


def test_every_flag_the_cli_sends_is_one_the_job_parses():
    """The job's CPU refusal names --embed-cpus: the CLI must be able to send it."""
    from actors.jobs.bulk_embed import parse_args

    flags = {"dataset": "d", "corpus": "c", "shards": 2, "batch_size": 64, "concurrency": 3,
             "num_gpus": 0.5, "limit": 10, "embed_cpus": 0.5, "wait_for_cpus_s": 2.0,
             "id_column": "id", "text_template": "{a}", "metadata_columns": "a,b"}  # fmt: skip
    argv = shlex.split(bulk_embed_entrypoint(sys.executable, flags))[3:]
    args = parse_args(argv)
    assert {name: getattr(args, name) for name in flags} == flags


def test_runtime_env_takes_env_vars_and_only_a_remote_working_dir():
    assert runtime_env([], None) is None
    got = runtime_env(["LAKEHOUSE_DATA_DIR=/d", "X=a=b"], "s3://bucket/code.zip")
    assert got == {"env_vars": {"LAKEHOUSE_DATA_DIR": "/d", "X": "a=b"},
                   "working_dir": "s3://bucket/code.zip"}  # fmt: skip
    for env, wd in ((["NOPE"], None), (["1X=2"], None), ([], "."), ([], "s3://b/dir")):
        with pytest.raises(InvalidInput):
            runtime_env(env, wd)


@pytest.fixture
def no_ray_env(monkeypatch, tmp_path):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_the_token_is_found_where_ray_looks_first_source_wins(no_ray_env, monkeypatch):
    assert ray_token() is None
    (no_ray_env / ".ray").mkdir()
    (no_ray_env / ".ray" / "auth_token").write_text("from-home\n")
    assert ray_token() == "from-home"
    named = no_ray_env / "tok"
    named.write_text("from-path")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(named))
    assert ray_token() == "from-path"
    monkeypatch.setenv("RAY_AUTH_TOKEN", "from-env")
    assert ray_token() == "from-env"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert ray_token() is None


def test_an_unreadable_or_empty_token_path_is_bad_input(no_ray_env, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(no_ray_env / "missing"))
    with pytest.raises(InvalidInput, match="cannot read"):
        ray_token()
    (no_ray_env / "empty").write_text("  \n")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(no_ray_env / "empty"))
    with pytest.raises(InvalidInput, match="empty"):
        ray_token()


def test_job_server_addresses():
    assert job_server_url("127.0.0.1:8265") == "http://127.0.0.1:8265"
    assert job_server_url("https://ray.example:443/") == "https://ray.example:443"
    for bad in ("ray://127.0.0.1:10001", "http://", "file:///tmp/x"):
        with pytest.raises(InvalidInput):
            job_server_url(bad)


def test_windows_from_their_short_form():
    assert window("workers") == {"dataset": "workers"}
    assert window("sessions:2026-11-27") == {
        "transform": "sessions", "start": "2026-11-27", "end": "2026-11-27"}  # fmt: skip
    assert window("replay_runs:2026-11-01..2026-11-07")["end"] == "2026-11-07"
    for bad in ("sessions:yesterday", "sessions:2026-11-27..", ":2026-11-27"):
        with pytest.raises(InvalidInput, match="TRANSFORM:YYYY-MM-DD"):
            window(bad)


def test_flatten_nests_with_dots_and_keeps_lists_whole():
    data = {"status": {"chi_square": {"p_value": 0.5}, "a": [1, 2]}, "n": 3}
    assert flatten(data) == [("status.chi_square.p_value", 0.5), ("status.a", [1, 2]), ("n", 3)]
