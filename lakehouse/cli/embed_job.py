"""``lakehouse embed-job``: the bulk embed job on a Ray cluster, through Ray's job REST API.

    lakehouse embed-job submit --dataset workers --corpus workers --limit 1000
    lakehouse embed-job status                  # every job; with an id, that one
    lakehouse embed-job status raysubmit_... --wait --timeout 600
    lakehouse embed-job logs raysubmit_...
    lakehouse embed-job stop raysubmit_...

The job server is ``--address`` (``RAY_API_SERVER_ADDRESS`` or ``RAY_ADDRESS``, default
http://127.0.0.1:8265, the dashboard); the token is Ray's own (see
``lakehouse.client.ray_jobs``). ``submit`` checks every option before it sends anything, so
bad input submits no job.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from typing import Annotated, Any

import typer

from lakehouse.cli.output import emit_json, table
from lakehouse.client.ray_jobs import DEFAULT_ADDRESS, TERMINAL, RayJobs
from lakehouse.errors import GatewayTimeout, InvalidInput

app = typer.Typer(help="The bulk embed job on a Ray cluster (Ray's job server, token auth).")

Address = Annotated[
    str,
    typer.Option(
        "--address",
        envvar=["RAY_API_SERVER_ADDRESS", "RAY_ADDRESS"],
        help="Ray's job server (the dashboard)",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REMOTE_DIR = ("s3://", "gs://", "https://", "http://")
JOB_MODULE = "actors.jobs.bulk_embed"


def bulk_embed_entrypoint(python: str, flags: dict[str, Any]) -> str:
    """The shell command the job runs: ``PYTHON -m actors.jobs.bulk_embed`` plus the flags
    that were given (the job's own defaults apply to the rest)."""
    argv = [python, "-m", JOB_MODULE]
    for name, value in flags.items():
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(argv)


def runtime_env(env: list[str], working_dir: str | None) -> dict[str, Any] | None:
    """``env_vars`` from ``KEY=VALUE`` options, and a remote ``working_dir`` if one is named.

    No working dir is the default: the job runs the cluster's installed package. A local
    directory would need packaging and an upload (``ray job submit --working-dir``)."""
    out: dict[str, Any] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not _ENV_KEY.match(key):
            raise InvalidInput(f"--env {item!r}: expected KEY=VALUE")
        out.setdefault("env_vars", {})[key] = value
    if working_dir is not None:
        if not working_dir.startswith(_REMOTE_DIR) or not working_dir.endswith(".zip"):
            raise InvalidInput(
                "--working-dir takes a remote zip (s3://, gs://, https://...zip); for a local "
                "directory use `ray job submit --working-dir DIR`"
            )
        out["working_dir"] = working_dir
    return out or None


def check_name(option: str, value: str | None) -> None:
    if value is not None and not _NAME.match(value):
        raise InvalidInput(f"{option} {value!r} must match [A-Za-z_][A-Za-z0-9_]{{0,62}}")


@app.command()
def submit(
    dataset: Annotated[str, typer.Option(help="catalog dataset to embed")] = "workers",
    corpus: Annotated[str, typer.Option(help="corpus the vectors go to")] = "workers",
    shards: Annotated[int | None, typer.Option(min=1, max=64)] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, max=65536)] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, max=1024)] = None,
    num_gpus: Annotated[float | None, typer.Option(min=0, max=64, help="per embedder")] = None,
    embed_cpus: Annotated[
        float | None, typer.Option(min=0.01, max=64, help="CPUs Ray reserves per embedder")
    ] = None,
    wait_for_cpus_s: Annotated[
        float | None, typer.Option(min=0, max=3600, help="wait this long for room, then fail")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="embed at most N rows")] = None,
    id_column: Annotated[str | None, typer.Option(help="profile of a new corpus")] = None,
    text_template: Annotated[str | None, typer.Option(help="e.g. '{title}: {notes}'")] = None,
    metadata_columns: Annotated[str | None, typer.Option(help="comma-separated")] = None,
    env: Annotated[list[str], typer.Option("--env", help="KEY=VALUE for the job; repeat")] = [],  # noqa: B006
    working_dir: Annotated[str | None, typer.Option(help="a remote zip URI")] = None,
    submission_id: Annotated[str | None, typer.Option(help="default: Ray picks one")] = None,
    python: Annotated[str, typer.Option(help="the interpreter on the cluster")] = sys.executable,
    wait: Annotated[bool, typer.Option("--wait", help="wait for the job to end")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="seconds --wait waits")] = 3600,
    address: Address = DEFAULT_ADDRESS,
    as_json: AsJson = False,
) -> int:
    """Submit the bulk embed job (``python -m actors.jobs.bulk_embed ...``) to the cluster."""
    check_name("--dataset", dataset)
    check_name("--corpus", corpus)
    check_name("--id-column", id_column)
    flags = {"dataset": dataset, "corpus": corpus, "shards": shards, "batch_size": batch_size,
             "concurrency": concurrency, "num_gpus": num_gpus, "limit": limit,
             "embed_cpus": embed_cpus, "wait_for_cpus_s": wait_for_cpus_s,
             "id_column": id_column, "text_template": text_template,
             "metadata_columns": metadata_columns}  # fmt: skip
    meta = {"tool": "lakehouse embed-job", "dataset": dataset, "corpus": corpus}
    fields = {"runtime_env": runtime_env(env, working_dir), "submission_id": submission_id}
    fields["metadata"] = meta
    entrypoint = bulk_embed_entrypoint(python, flags)
    with RayJobs(address) as jobs:
        started = jobs.submit(entrypoint, **fields)
        job = started["submission_id"]
        if wait:
            return _finish(jobs, job, timeout, as_json)
    if as_json:
        emit_json(started | {"entrypoint": entrypoint})
    else:
        table("submitted", ["submission id", "entrypoint"], [(job, entrypoint)])
    return 0


@app.command()
def status(
    job: Annotated[str | None, typer.Argument(help="submission id; none lists every job")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait for the job to end")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="seconds --wait waits")] = 3600,
    address: Address = DEFAULT_ADDRESS,
    as_json: AsJson = False,
) -> int:
    """A job's status (exit code 1 when it FAILED or was STOPPED), or every job's."""
    with RayJobs(address) as jobs:
        if job is None:
            found = jobs.jobs()
            if as_json:
                emit_json(found)
            else:
                table(f"{len(found)} jobs", _COLUMNS, [_row(j) for j in _newest_first(found)])
            return 0
        if wait:
            return _finish(jobs, job, timeout, as_json)
        return _show(jobs.info(job), as_json)


@app.command()
def logs(job: str, address: Address = DEFAULT_ADDRESS) -> None:
    """A job's output so far (the driver's stdout and stderr)."""
    with RayJobs(address) as jobs:
        sys.stdout.write(jobs.logs(job))


@app.command()
def stop(job: str, address: Address = DEFAULT_ADDRESS, as_json: AsJson = False) -> None:
    """Ask Ray to stop a job (``stopped`` is false when it had already ended)."""
    with RayJobs(address) as jobs:
        stopped = jobs.stop(job)
    if as_json:
        return emit_json({"submission_id": job, "stopped": stopped})
    print(f"{job}: {'stopping' if stopped else 'not running'}")


_COLUMNS = ["submission id", "status", "started", "ended", "message", "entrypoint"]


def _row(job: dict[str, Any]) -> tuple[Any, ...]:
    return (job.get("submission_id") or job.get("job_id"), job.get("status"),
            _when(job.get("start_time")), _when(job.get("end_time")),
            job.get("message"), job.get("entrypoint"))  # fmt: skip


def _newest_first(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(found, key=lambda j: j.get("start_time") or 0, reverse=True)


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) if ms else ""


def _show(info: dict[str, Any], as_json: bool) -> int:
    if as_json:
        emit_json(info)
    else:
        table(info.get("submission_id"), _COLUMNS, [_row(info)])
    return 0 if info.get("status") not in ("FAILED", "STOPPED") else 1


def _finish(jobs: RayJobs, job: str, timeout: float, as_json: bool) -> int:
    """Poll until the job ends; show it (exit 1 if it failed), or time out (exit 6)."""
    deadline = time.monotonic() + timeout
    while (info := jobs.info(job))["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise GatewayTimeout(f"job {job} is still {info['status']} after {timeout:g} s")
        time.sleep(1.0)
    return _show(info, as_json)


__all__ = ["app", "bulk_embed_entrypoint", "runtime_env"]
