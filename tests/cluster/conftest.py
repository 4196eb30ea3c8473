"""The multi-node suite (``make test-cluster``): a head and two workers started with ``ray start``.

The object store is the S3 API server of ``tests/conftest.py``; each node has its own
``LAKEHOUSE_DATA_DIR``. Worker ``a`` has two CPUs, worker ``b`` two CPUs and one GPU; both
may host vector shards (``LAKEHOUSE_SHARD_RESOURCES``), the head may not, so each corpus's
shards spread over the workers. The head (one CPU) runs the Serve controller, the proxy,
the job driver and whatever else fits. These tests run only when ``-m cluster`` is asked for.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.cluster.nodes import LocalCluster, cli_env
from tests.conftest import free_port
from tests.fakes.ollama import FakeOllama

REPO = Path(__file__).resolve().parents[2]
SHARD_RESOURCE = {"lakehouse_shards": 1000}
WORKERS = ("a", "b", "c")
# actors.jobs.placement.NODE_OLLAMA_HOST, spelled out: importing it would import Ray before
# pytest_configure sets the auth mode
NODE_OLLAMA_HOST = "LAKEHOUSE_NODE_OLLAMA_HOST"
OLLAMA_DIM = 16  # the stand-ins' vector width (a new corpus takes the width it is given)


def wanted(config) -> bool:
    return "cluster" in (config.option.markexpr or "")


def pytest_configure(config) -> None:
    """Token auth for this process too, set before anything imports Ray (it reads the auth
    mode and token once); only when the cluster suite runs, the local-Ray tests run without."""
    if wanted(config):
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)


def pytest_collection_modifyitems(config, items) -> None:
    """Mark this directory's tests ``cluster`` and skip them unless ``-m cluster`` asks."""
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.cluster)
            if not wanted(config):
                item.add_marker(pytest.mark.skip(reason="multi-node: make test-cluster"))


@pytest.fixture(scope="session")
def cluster_env(s3_endpoint, tmp_path_factory) -> dict[str, str]:
    """Every node's environment: token auth, the S3 store, where shards may live."""
    import boto3

    from lakehouse.embed import EmbedConfig, open_embedder

    bucket = f"cluster-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    # a cache, not state: exported once here so three nodes do not each spend a minute on it
    models = tmp_path_factory.mktemp("cluster-models")
    open_embedder(EmbedConfig(cache_dir=models))
    return {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": os.environ["RAY_AUTH_TOKEN"],
        # Serve's own proxy: the HAProxy ingress keeps a fallback proxy on the fixed port 8500
        "RAY_SERVE_ENABLE_HA_PROXY": "0",
        "LAKEHOUSE_HAPROXY": "0",
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAKEHOUSE_STORE_BACKEND": "s3",
        "LAKEHOUSE_S3_ENDPOINT": s3_endpoint,
        "LAKEHOUSE_S3_BUCKET": bucket,
        "LAKEHOUSE_SHARD_RESOURCES": json.dumps({"lakehouse_shards": 0.001}),
        "LAKEHOUSE_EMBED_CACHE_DIR": str(models),
    }


@pytest.fixture(scope="session")
def node_ollamas() -> Iterator[dict[str, FakeOllama]]:
    """A stand-in Ollama per worker node (``a``, ``b`` and the later ``c``), each named in its
    node's ``ray start`` environment; each records the texts it was asked to embed."""
    servers = {name: FakeOllama(dim=OLLAMA_DIM) for name in WORKERS}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture(scope="session")
def cluster(cluster_env, node_ollamas) -> Iterator[LocalCluster]:
    """Head + worker ``a`` + worker ``b`` (GPU); this process joins as a Ray driver."""
    root = Path(tempfile.mkdtemp(prefix="lhc-", dir="/tmp"))  # short: Unix socket paths
    own = {name: {NODE_OLLAMA_HOST: server.url} for name, server in node_ollamas.items()}
    nodes = LocalCluster(root, cluster_env, node_env=own)
    try:
        nodes.start_head(num_cpus=1)
        nodes.start_worker("a", num_cpus=2, resources=SHARD_RESOURCE)
        nodes.start_worker("b", num_cpus=2, num_gpus=1, resources=SHARD_RESOURCE)
        import ray

        ray.init(address=nodes.address, namespace="lakehouse", log_to_driver=False)
        yield nodes
    finally:
        import ray

        ray.shutdown()
        nodes.stop_all()


@pytest.fixture(scope="session")
def cli(cluster, cluster_env):
    """Run a ``ray``/``serve`` command of the README against the cluster (from the repo root)."""
    env = cli_env(cluster_env)
    env["RAY_DASHBOARD_ADDRESS"] = env["RAY_API_SERVER_ADDRESS"] = cluster.dashboard_url
    bin_dir = Path(sys.executable).parent

    def run(*args: str, timeout: float = 300) -> str:
        command = [str(bin_dir / args[0]) if (bin_dir / args[0]).exists() else args[0], *args[1:]]
        out = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, f"{' '.join(args)}:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    run.python = sys.executable  # the README's "$PWD/.venv/bin/python"
    return run


@pytest.fixture(scope="session")
def serve_url(cluster, cli) -> Iterator[str]:
    """``serve deploy`` of the README's config, on a free port, the proxy on the head only
    (every node of this machine would otherwise bind the same port)."""
    config = yaml.safe_load((REPO / "deployments/serve_config.yaml").read_text())
    port = free_port()
    config["http_options"]["port"] = port
    config["proxy_location"] = "HeadOnly"
    path = cluster.root / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config))
    cli("serve", "deploy", str(path))
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, cli)
    yield url


def wait_healthy(url: str, cli, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"no healthy app at {url}:\n{cli('serve', 'status')}")
