"""Shared fixtures: settings rooted in a temp dir, a moto S3 server, one local Ray."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.settings import Settings
from lakehouse.storage.local import LocalStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", sql_timeout_s=2.0, max_object_bytes=1 << 20)


@pytest.fixture
def local_store(settings: Settings) -> LocalStore:
    return LocalStore(settings.objects_dir, settings.tmp_dir, settings.max_object_bytes, 50)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API server (moto) on 127.0.0.1, for the whole session."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(tmp_path: Path, s3_endpoint: str) -> Settings:
    """Settings for the S3 backend with a fresh bucket."""
    import boto3

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return Settings(
        data_dir=tmp_path / "data",
        store_backend="s3",
        s3_endpoint=s3_endpoint,
        s3_bucket=bucket,
        max_object_bytes=1 << 20,
        max_list=50,
    )


@pytest.fixture(scope="session")
def metrics_port() -> int:
    """Where the session's Ray serves its Prometheus metrics (``tests/integration/test_metrics``)."""
    return free_port()


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory, metrics_port) -> Iterator[None]:
    """One local Ray for the whole session (2 CPUs, like the CI machine)."""
    from deployments.launch import serve_environment

    # HAProxy's stats page and exporter default to fixed ports: free ones, so sessions on one
    # machine never collide
    os.environ.setdefault("RAY_SERVE_HAPROXY_STATS_PORT", str(free_port()))
    os.environ.setdefault("RAY_SERVE_HAPROXY_METRICS_PORT", str(free_port()))
    serve_environment()
    import ray

    ray.init(
        num_cpus=2,
        namespace="lakehouse",
        include_dashboard=False,
        log_to_driver=False,
        _metrics_export_port=metrics_port,
    )
    yield
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def sweep_module_actors() -> Iterator[None]:
    """Kill, when a module ends, the named actors it started in the session's Ray.

    State owners are detached and restarted forever (``actors.stateful_actor``), so without
    this every module's catalog, observer, pathway, registry and shard actors stay alive for
    the rest of the session: 88 Ray processes by the middle of a CI run, each idling at a few
    per cent of a core, slowed the later modules of a two-core machine. Used as a module-scoped
    autouse fixture by ``tests/ray`` and ``tests/integration``, whose modules share no actor.
    """
    before = _named_actors()
    yield
    import ray

    from actors import NAMESPACE

    for name in _named_actors() - before:
        try:
            ray.kill(ray.get_actor(name, NAMESPACE), no_restart=True)
        except ValueError:  # gone already
            continue


def _named_actors() -> set[str]:
    import ray

    from actors import NAMESPACE

    if not ray.is_initialized():
        return set()
    return {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == NAMESPACE}  # fmt: skip


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One ONNX export of the embedding model per test session, shared by every test."""
    return tmp_path_factory.mktemp("models")
