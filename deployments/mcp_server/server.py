"""The MCP endpoint at ``/mcp``: streamable HTTP, stateless, JSON responses.

Built with the official SDK's ``MCPServer`` (FastMCP in SDK 1.x); its streamable HTTP route
is added to the FastAPI app, so the edge middleware (trace id, allowlist, bearer tokens, body
cap) covers it like every other route, and any replica can answer any request.

Each tool validates its arguments with the HTTP route's own model and calls the route's own
function; a bad argument or a domain error comes back as an MCP tool error (``isError``)
whose text is the JSON body the HTTP route would have answered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.routing import Route

import lakehouse
from actors.services import Services
from deployments.assistant import Assistant
from deployments.errors import error_body, validation_body
from deployments.mcp_server.tools import TOOLS, ToolCall, ToolSpec
from lakehouse.errors import Unavailable

log = logging.getLogger("lakehouse.mcp")
MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Lakehouse on Ray: datasets queried with read-only SQL, vector corpora, matrix search "
    "over several corpora with a learning playbook, versioned pathway traces, observer "
    "events, and validators for LLM-proposed staffing fills and messages."
)
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
_request: ContextVar[Request | None] = ContextVar("mcp_http_request", default=None)


class _RawArguments(ArgModelBase):
    """Takes the arguments object whole: the tool checks it with the route's own model, so
    a bad argument gets the route's message rather than the SDK's."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


class McpEndpoint:
    """The MCP server over one replica's services, and its place in the FastAPI app."""

    def __init__(self, services: Services, assistant: Assistant) -> None:
        self.services = services
        self.assistant = assistant
        settings = services.settings
        specs = [spec for spec in TOOLS if settings.mcp_write or not spec.write]
        self.server = MCPServer(
            name="lakehouse",
            version=lakehouse.__version__,
            instructions=INSTRUCTIONS,
            tools=[self._tool(spec) for spec in specs],
        )
        self.asgi = _WithRequest()

    def mount(self, app: FastAPI) -> None:
        """Add the ``/mcp`` route to ``app`` (its lifespan must enter :meth:`lifespan`)."""
        self.asgi.route = Route(MCP_PATH, self.asgi)
        app.router.routes.append(self.asgi.route)

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Serve ``/mcp`` while the app runs.

        The SDK's session manager (the task group stateless requests run in) starts once
        per instance, so each lifespan builds a fresh streamable HTTP app: an app started
        twice (tests do) still works.
        """
        sdk_app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            json_response=True,
            stateless_http=True,
            max_request_body_size=self.services.settings.max_body_bytes,
            transport_security=_transport_security(bool(self.services.settings.tokens)),
        )
        endpoint = next(r.endpoint for r in sdk_app.routes if isinstance(r, Route))
        async with self.server.session_manager.run():
            self.asgi.app = endpoint
            try:
                yield
            finally:
                self.asgi.app = None

    def _tool(self, spec: ToolSpec) -> Tool:
        async def run(arguments: dict[str, Any]) -> CallToolResult:
            return await self._call(spec, arguments)

        annotations = ToolAnnotations(
            read_only_hint=not spec.write, destructive_hint=False, open_world_hint=False
        )
        return Tool(
            fn=run,
            name=spec.name,
            description=spec.description,
            parameters=spec.args.model_json_schema(),
            fn_metadata=FuncMetadata(arg_model=_RawArguments),
            is_async=True,
            annotations=annotations,
        )

    async def _call(self, spec: ToolSpec, arguments: dict[str, Any]) -> CallToolResult:
        try:
            args = spec.args.model_validate(arguments)
        except ValidationError as exc:
            return _error(validation_body(exc.errors()))
        request = _request.get()
        call = ToolCall(self.services, self.assistant, request)
        try:
            result = await spec.handler(call, args)
        except Exception as exc:  # every failure becomes the route's error body
            return _error(error_body(exc)[1])
        return _result(_plain(result))


def _plain(value: Any) -> dict[str, Any]:
    """What the route would have sent, as JSON data."""
    if isinstance(value, Response):
        return json.loads(value.body)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return jsonable_encoder(value)


def _result(data: dict[str, Any]) -> CallToolResult:
    text = json.dumps(data, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _error(body: dict[str, Any]) -> CallToolResult:
    text = json.dumps(body, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


class _WithRequest:
    """The SDK's ASGI app, with the HTTP request kept reachable from tool handlers (who
    recorded an outcome). A class, not a function: Starlette wraps functions as endpoints."""

    def __init__(self) -> None:
        self.app: Any = None
        self.route: Route | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["route"] = self.route  # the edge's http.request event names the route
        if self.app is None:
            raise Unavailable("the MCP endpoint runs only while the app's lifespan does")
        token = _request.set(Request(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _request.reset(token)


def _transport_security(has_tokens: bool) -> TransportSecuritySettings:
    """With no token the service is loopback-only: refuse other Host and Origin headers too,
    so a web page cannot reach it by DNS rebinding. With tokens, the token is the guard."""
    if has_tokens:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=LOOPBACK_HOSTS,
        allowed_origins=LOOPBACK_ORIGINS,
    )
