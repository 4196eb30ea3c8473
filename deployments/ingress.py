"""The Serve ingress deployment: a thin shell over ``build_services`` and the FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from ray import serve

from actors.services import build_services
from deployments.api import create_api
from lakehouse.settings import Settings


class LakehouseIngress:
    """One replica: connects to the named actors and serves the API (no state of its own)."""

    def __init__(self, settings: Settings) -> None:
        logging.basicConfig(level=logging.INFO)
        self.services = build_services(settings, "ray")

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = create_api(self.services)
        # every response names the replica that served it (X-Lakehouse-Replica): an
        # operator (or a test) can tell replicas apart behind the proxy
        app.state.replica = serve.get_replica_context().replica_id.unique_id
        return app
