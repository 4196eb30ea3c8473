"""The real FastAPI app over in-process services (``build_services(..., "local")``): every
route, no Ray cluster."""

from __future__ import annotations

import warnings

import pytest

from actors.services import build_services
from deployments.api import create_api

warnings.filterwarnings("ignore", message=".*httpx2.*")
LOOPBACK = ("127.0.0.1", 50000)


def make_client(settings, client=LOOPBACK, headers=None, chat=None, embedder=None):
    """The app over ``build_services(settings, "local")``; no embedder unless one is given
    (the model export is slow; tests that embed pass one)."""
    from starlette.testclient import TestClient

    services = build_services(settings, "local", chat=chat)
    services.embedder = embedder
    return TestClient(create_api(services), client=client, headers=headers or {}), services


@pytest.fixture
def api(settings):
    client, services = make_client(settings)
    with client:
        client.services = services
        yield client
