"""The Serve ingress deployment: a thin shell over ``build_services`` and the FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from actors.services import build_services
from deployments.api import create_api
from lakehouse.settings import Settings


class LakehouseIngress:
    """One replica: connects to the named actors and serves the API (no state of its own)."""

    def __init__(self, settings: Settings) -> None:
        logging.basicConfig(level=logging.INFO)
        self.services = build_services(settings, "ray")

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_api(self.services)
