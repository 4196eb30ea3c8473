"""With ``--num-gpus 1`` the bulk job's embedders run only on the GPU worker (``b``) and call
the Ollama of their own node.

Each worker node was started with its own stand-in Ollama in its ``ray start`` environment
(``LAKEHOUSE_NODE_OLLAMA_HOST``, the ``node_ollamas`` fixture); the real ``ollama`` client in
the embedders talks to it. The job is told an Ollama host that answers nothing (port 9), so
an embedder that ignored its node's host would fail the job. This file runs before
``test_node_loss.py`` (pytest takes a directory's files by name), while both workers are up,
and deletes its corpus at the end so the node-loss scenario sees only its own shards (its
dataset stays: a small one, named apart).
"""

from __future__ import annotations

import json
import time

import httpx
from ray.job_submission import JobStatus, JobSubmissionClient

from lakehouse.staffing.generate import write_csv
from tests.cluster.conftest import OLLAMA_DIM
from tests.cluster.shards import shard_nodes
from tests.cluster.test_node_loss import corpus_size, wait_job

ROWS = 50
NAME = "gpurows"
NOWHERE = "http://127.0.0.1:9"  # discard: only a node's own Ollama can answer
OLLAMA_JOB_ENV = {
    "LAKEHOUSE_EMBED_BACKEND": "ollama",
    "LAKEHOUSE_EMBED_MODEL": "nomic-embed-text",
    "LAKEHOUSE_EMBED_DIM": str(OLLAMA_DIM),
    "LAKEHOUSE_EMBED_OLLAMA_HOST": NOWHERE,
}


def ollama_job(cli) -> str:
    """The README's job command with the Ollama backend in its runtime env; its id."""
    out = cli(
        "ray", "job", "submit", "--no-wait", "--working-dir", ".",
        "--runtime-env-json", json.dumps({"env_vars": OLLAMA_JOB_ENV}), "--", cli.python,
        "-m", "actors.jobs.bulk_embed", "--dataset", NAME, "--corpus", NAME,
        "--num-gpus", "1", "--shards", "1",
    )  # fmt: skip
    return next(line.split("'")[1] for line in out.splitlines() if "submitted successfully" in line)


def test_embedders_run_on_the_gpu_node_and_call_its_ollama(
    cluster, cli, serve_url, node_ollamas, tmp_path
):
    csv = tmp_path / f"{NAME}.csv"
    write_csv(csv, ROWS, seed=11)
    with httpx.Client(base_url=serve_url, timeout=120) as http:
        r = http.post(f"/v1/ingest?name={NAME}", content=csv.read_bytes(),
                      headers={"Content-Type": "text/csv"})  # fmt: skip
        assert r.status_code == 201, r.text
        jobs = JobSubmissionClient(cluster.dashboard_url)
        job = ollama_job(cli)
        assert wait_job(jobs, job, 300) == JobStatus.SUCCEEDED, jobs.get_job_logs(job)[-3000:]
        assert corpus_size(serve_url, NAME) == ROWS
        texts = node_ollamas["b"].texts()  # b: the GPU worker
        assert len(set(texts)) == ROWS, len(texts)  # every row's text (each one differs)
        assert all(t.startswith("search_document: ") for t in texts)
        assert node_ollamas["a"].requests == [], "an embedder ran on the CPU-only worker a"
        assert http.delete(f"/v1/vectors/corpora/{NAME}").status_code == 204
    wait_gone(cluster)


def wait_gone(cluster, timeout_s: float = 60) -> None:
    """Until the deleted corpus's shard actors are dead (the node-loss test counts shards)."""
    deadline = time.monotonic() + timeout_s
    while any(f"-{NAME}-" in name for name in shard_nodes(cluster)):
        assert time.monotonic() < deadline, shard_nodes(cluster)
        time.sleep(0.5)
