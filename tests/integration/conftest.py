"""The Serve app over real HTTP (HAProxy ingress by default), one deployment per module."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import free_port, sweep_module_actors

TOKENS = ("tok-old", "tok-new")

_sweep = pytest.fixture(scope="module", autouse=True)(sweep_module_actors)


@pytest.fixture(scope="session")
def serve_url(ray_session) -> str:
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("serve-data")
    return {
        "data_dir": str(data_dir),
        "auth_tokens": ",".join(TOKENS),
        "ingest_max_bytes": 2 << 20,
        "sql_timeout_s": 2.0,
    }


@pytest.fixture(scope="module")
def http(serve_url, app_settings):
    from ray import serve

    from deployments.app import build_app

    serve.run(build_app({"settings": app_settings}), name="lakehouse", route_prefix="/")
    headers = {"Authorization": f"Bearer {TOKENS[0]}"}
    with httpx.Client(base_url=serve_url, headers=headers, timeout=60) as client:
        yield client
    serve.delete("lakehouse")


@pytest.fixture(scope="module")
def lakehouse(http, serve_url):
    """The project's own client on the same deployment (packed vectors, retries on 503)."""
    from lakehouse.client import Client

    with Client(serve_url, token=TOKENS[1], backoff_s=0.05) as client:
        yield client
