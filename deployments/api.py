"""The FastAPI application: routers, the edge middleware and the error mapping."""

from __future__ import annotations

from fastapi import FastAPI

import lakehouse
from actors.services import Services
from deployments import console
from deployments.assistant import Assistant
from deployments.distill import Distill
from deployments.edge import EdgeMiddleware
from deployments.errors import install_error_handlers
from deployments.hot import HotRoutes
from deployments.mcp_server import McpEndpoint
from deployments.routes import (
    catalog,
    distill,
    drift,
    embed,
    health,
    ingest,
    llm,
    matrix,
    observer,
    pathway,
    sql,
    storage,
    vectors,
)

DESCRIPTION = """
Lakehouse on Ray: objects, a dataset catalog, CSV ingest, read-only SQL, and the LLM
safety net (chat, validators, the iterate loop).

Every route except `/health` needs `Authorization: Bearer <token>` when tokens are
configured; with no token configured only loopback clients are served. Send
`X-Lakehouse-Trace-Id` to carry your own trace id; every response echoes one.
Errors are `{"error": code, "message": ...}`.
"""


def create_api(services: Services, *, hot: bool | None = None) -> FastAPI:
    """Build the API over ``services`` (a replica's, or a plain in-process set for tests).

    ``hot`` (default: ``settings.hot_routes``) answers the hot routes past FastAPI's router
    (``deployments.hot``; its tests compare the two paths).
    """
    assistant = Assistant(services)
    mcp = McpEndpoint(services, assistant)
    app = FastAPI(
        title="Lakehouse on Ray",
        version=lakehouse.__version__,
        description=DESCRIPTION,
        lifespan=mcp.lifespan,
    )
    app.state.services = services
    app.state.assistant = assistant
    app.state.distill = Distill(services, assistant)
    routers = (
        health,
        storage,
        catalog,
        ingest,
        sql,
        llm,
        embed,
        vectors,
        matrix,
        pathway,
        observer,
        console,
        distill,
        drift,
    )
    for module in routers:
        app.include_router(module.router)
    mcp.mount(app)
    install_error_handlers(app)
    # inside the edge: the hot routes pass the same checks, logs and metrics
    if services.settings.hot_routes if hot is None else hot:
        app.add_middleware(HotRoutes, api=app)
    app.add_middleware(EdgeMiddleware, settings=services.settings)
    return app
