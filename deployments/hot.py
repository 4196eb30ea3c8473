"""The hot routes, answered without FastAPI's router, with the same endpoint and errors.

What FastAPI does around an endpoint (matching the path against every route, the exception
and exit-stack layers, the request wrappers, dependency solving) cost 7-36% of the replica's
CPU per search in two same-run comparisons (``bench/hops.py --ab``, docs/benchmarks.md).
For the routes clients call in a loop (``HOT_PATHS``) ``HotRoutes`` does only what they
need: it sits inside ``EdgeMiddleware`` (trace id, allowlist, token and body caps are the
same), parses the JSON body with the route's own parser (orjson for an
``OrjsonRoute``, else ``json.loads``: they differ on ``NaN``, ``1e400`` and lone surrogates),
validates it with the endpoint's own request model, calls the endpoint function itself and
maps errors with ``deployments.errors``. One answer differs, on purpose: a streamed body
(no content-length) past the edge's cap is the edge's 413 here, where FastAPI's body reader
turns the same error into a 400.

The FastAPI routes stay: they document these paths in ``/openapi.json`` and answer every
request this path does not take (another method or content type). A hot endpoint's
parameters are its path parameters, ``body`` (a pydantic model) and any of ``RESOLVERS``
(named as the routes name their dependencies); that is checked when the app is built.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ValidationError

from deployments.errors import error_response, validation_response
from deployments.fastjson import OrjsonRoute, json_response
from lakehouse.errors import LakehouseError

HOT_PATHS = (
    "/v1/vectors/corpora/{name}/search",
    "/v1/vectors/corpora/{name}/add",
    "/v1/sql",
    "/v1/matrix/search",
    "/v1/matrix/playbooks/record",
    "/v1/validate",
)
# what a hot endpoint may take besides its path parameters and ``body``, and where it comes
# from: the same objects the routes' dependencies return
RESOLVERS: dict[str, Callable[[dict, Any], Any]] = {
    "svc": lambda scope, receive: scope["app"].state.services,
    "llm": lambda scope, receive: scope["app"].state.assistant,
    "request": lambda scope, receive: Request(scope, receive),
}


@dataclass(frozen=True)
class HotRoute:
    route: APIRoute  # what the router puts in ``scope["route"]``
    regex: re.Pattern[str]
    convertors: dict[str, Any]
    model: type[BaseModel]
    resolved: tuple[str, ...]  # RESOLVERS the endpoint takes
    parse: Callable[[bytes], Any]  # the route's own JSON parser (they differ on NaN, 1e400)

    @classmethod
    def of(cls, context: RouteContext) -> HotRoute:
        """The app's route as a hot route; ``TypeError`` if its endpoint has another shape."""
        endpoint = context.endpoint
        model = typing.get_type_hints(endpoint).get("body")
        params = set(inspect.signature(endpoint).parameters)
        path = set(context.param_convertors)
        if not path | {"body"} <= params <= path | {"body"} | set(RESOLVERS) or not (
            isinstance(model, type) and issubclass(model, BaseModel)
        ):
            raise TypeError(
                f"{context.path}: a hot endpoint takes its path parameters, a model as body "
                f"and any of {sorted(RESOLVERS)} (got {sorted(params)})"
            )
        resolved = tuple(sorted(params - path - {"body"}))
        route = context.original_route
        parse = orjson.loads if isinstance(route, OrjsonRoute) else json.loads
        return cls(route, context.path_regex, context.param_convertors, model, resolved, parse)

    def params(self, match: re.Match[str]) -> dict[str, Any]:
        return {k: self.convertors[k].convert(v) for k, v in match.groupdict().items()}


class HotRoutes:
    """ASGI middleware answering ``POST`` JSON requests to ``HOT_PATHS`` directly."""

    def __init__(self, app: Any, api: FastAPI, paths: tuple[str, ...] = HOT_PATHS) -> None:
        self.app = app
        posts = {
            c.path: c
            for c in iter_route_contexts(api.routes)
            if isinstance(c.original_route, APIRoute) and "POST" in (c.methods or ())
        }
        missing = [path for path in paths if path not in posts]
        if missing:
            raise TypeError(f"no POST route for the hot paths {missing}")
        self.routes = [HotRoute.of(posts[path]) for path in paths]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _json(scope):
            path = _route_path(scope)
            for hot in self.routes:
                match = hot.regex.match(path)
                if match is not None:
                    await self._answer(hot, hot.params(match), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, hot: HotRoute, params: dict, scope: dict, receive, send) -> None:
        scope["route"] = hot.route  # the edge labels its metrics with the route template
        try:
            body = await _body(receive)
            model = _validated(hot, body)
            for name in hot.resolved:
                params[name] = RESOLVERS[name](scope, receive)
            result = await hot.route.endpoint(**params, body=model)
            response = result if isinstance(result, Response) else json_response(result)
        except _Invalid as exc:
            response = validation_response(exc.errors)
        except Exception as exc:  # noqa: BLE001 - mapped exactly as the app's handlers map it
            response = error_response(exc)
        await response(scope, receive, send)


class _Invalid(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors


class _Unreadable(LakehouseError):
    status, code = 400, "http_error"


def _route_path(scope: dict) -> str:
    """The path the router matches: ``root_path`` taken off, as Starlette's router does."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _json(scope: dict) -> bool:
    """FastAPI parses a body as JSON only for ``application/json`` or ``application/*+json``."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or (
                kind.startswith(b"application/") and kind.endswith(b"+json")
            )
    return False


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Unreadable("There was an error parsing the body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _validated(hot: HotRoute, body: bytes) -> BaseModel:
    """The route's model of the JSON ``body``, with FastAPI's error locations
    (``body.<field>``)."""
    if not body:
        raise _Invalid([{"loc": ("body",), "msg": "Field required"}])
    try:
        data = hot.parse(body)
    except json.JSONDecodeError as exc:  # orjson's error is one too
        raise _Invalid([{"loc": ("body", exc.pos), "msg": "JSON decode error"}]) from None
    try:
        return hot.model.model_validate(data, from_attributes=True)  # as FastAPI validates
    except ValidationError as exc:
        raise _Invalid([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
