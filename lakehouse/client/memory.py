"""Route groups for memory and observation: the pathway store and the observer ring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from lakehouse.client.calls import Call, parse_json
from lakehouse.client.groups import Group, drop_none


class Pathway(Group):
    """``/v1/pathway``: versioned JSON traces (add, update, revise, retire, revert, read)."""

    def add(self, content: Any, tags: Sequence[str] | None = None, idempotent: bool = False):
        """A new trace; ``idempotent`` returns the live trace with the same content instead."""
        params = {"idempotent": "true"} if idempotent else None
        body = {"content": content, "tags": None if tags is None else list(tags)}
        return self._send(
            Call("POST", "/v1/pathway/traces", json=body, params=params, idempotent=idempotent)
        )

    def get(self, uid: str, as_of: float | None = None) -> dict[str, Any]:
        return self._send(Call("GET", _trace(uid), params={"as_of": as_of}))

    def update(self, uid: str, content: Any, tags: Sequence[str] | None = None):
        body = {"content": content, "tags": None if tags is None else list(tags)}
        return self._send(Call("PUT", _trace(uid), json=body, idempotent=False))

    def revise(self, uid: str, content: Any, tags: Sequence[str] | None = None):
        body = {"content": content, "tags": None if tags is None else list(tags)}
        return self._send(Call("POST", _trace(uid, "/revise"), json=body, idempotent=False))

    def retire(self, uid: str) -> dict[str, Any]:
        return self._send(Call("POST", _trace(uid, "/retire")))

    def revert(self, uid: str, version: int) -> dict[str, Any]:
        body = {"version": version}
        return self._send(Call("POST", _trace(uid, "/revert"), json=body, idempotent=False))

    def history(self, uid: str, as_of: float | None = None) -> dict[str, Any]:
        return self._send(Call("GET", _trace(uid, "/history"), params={"as_of": as_of}))

    def search(
        self,
        text: str | None = None,
        tags: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        k: int = 10,
    ) -> list[dict[str, Any]]:
        body = drop_none(text=text, tags=None if tags is None else list(tags), since=since)
        body |= drop_none(until=until, k=k)
        parse = lambda r: parse_json(r)["hits"]  # noqa: E731
        return self._send(Call("POST", "/v1/pathway/search", json=body, parse=parse))


def _trace(uid: str, tail: str = "") -> str:
    return f"/v1/pathway/traces/{quote(uid, safe='')}{tail}"


class Observer(Group):
    """``/v1/observer``: events in the ring and workflow runs."""

    def emit(self, kind: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = {"kind": kind, "data": dict(data or {})}
        return self._send(Call("POST", "/v1/observer/events", json=body, idempotent=False))

    def events(
        self,
        kind: str | None = None,
        trace_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        params = {"kind": kind, "trace_id": trace_id, "since": since, "until": until}
        params["limit"] = limit
        parse = lambda r: parse_json(r)["events"]  # noqa: E731
        return self._send(Call("GET", "/v1/observer/events", params=params, parse=parse))

    def run_workflow(
        self, workflow: str | Mapping[str, Any], inputs: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a workflow given as YAML text or its JSON form, with optional run inputs."""
        if inputs is None and isinstance(workflow, str):
            content, ctype = workflow.encode(), "application/yaml"
        else:
            doc = {"workflow": workflow, "inputs": dict(inputs or {})}
            content, ctype = orjson.dumps(doc), "application/json"
        call = Call("POST", "/v1/observer/workflows/run", content=content, idempotent=False)
        call.headers["content-type"] = ctype
        return self._send(call)
