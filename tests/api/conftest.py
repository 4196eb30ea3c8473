"""The real FastAPI app over a plain (in-process) catalog: every route, no Ray cluster."""

from __future__ import annotations

import warnings

import pytest

from actors.catalog import CatalogActor
from actors.observer import ObserverActor
from actors.pathway import PathwayActor
from actors.remote.facade import Facade
from actors.services import Services
from deployments.api import create_api
from lakehouse.matrix import MatrixConfig, MatrixSearch

warnings.filterwarnings("ignore", message=".*httpx2.*")
LOOPBACK = ("127.0.0.1", 50000)


def make_client(settings, client=LOOPBACK, headers=None, chat=None):
    from starlette.testclient import TestClient

    services = Services.build(settings, Facade(CatalogActor(settings)), chat=chat)
    services.pathway = Facade(PathwayActor(settings))
    services.observer = Facade(ObserverActor(settings))
    services.matrix = MatrixSearch(
        services.vectors,
        services.embed_queries,
        services.store,
        MatrixConfig.from_settings(settings),
    )
    return TestClient(create_api(services), client=client, headers=headers or {}), services


@pytest.fixture
def api(settings):
    client, services = make_client(settings)
    with client:
        client.services = services
        yield client
