"""The Serve ingress deployment: a thin shell over ``build_services`` and the FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from ray import serve

from actors.services import build_services
from deployments.api import create_api
from lakehouse.settings import Settings

OUR_LOGGERS = ("lakehouse", "deployments", "actors")


def log_through_serve() -> None:
    """The project's loggers write at INFO into the replica's own log file, through Serve's
    handlers (buffered, formatted with the replica and request ids).

    Not through a root handler on stderr: Serve wraps a replica's stderr in a stream that
    walks the whole stack for every line it is given, which cost the replica about a tenth
    of its CPU under load, one access line per request (docs/benchmarks.md).
    """
    handlers = logging.getLogger("ray.serve").handlers
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if handlers:
            logger.handlers = list(handlers)
            logger.propagate = False


class LakehouseIngress:
    """One replica: connects to the named actors and serves the API (no state of its own)."""

    def __init__(self, settings: Settings) -> None:
        log_through_serve()
        self.services = build_services(settings, "ray")

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = create_api(self.services)
        # every response names the replica that served it (X-Lakehouse-Replica): an
        # operator (or a test) can tell replicas apart behind the proxy
        app.state.replica = serve.get_replica_context().replica_id.unique_id
        return app
