"""``/v1/observer``: the ring of recent events, and workflow runs recorded into it.

Every request except ``/health`` is recorded here by the edge as an ``http.request`` event
(route, method, status, duration, trace id); a workflow run records one ``workflow.node``
event per node and one ``workflow.run`` event, under the request's trace id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from actors.remote.facade import Facade
from actors.services import Services
from deployments.routes.deps import services
from deployments.tracing import current_trace_id
from deployments.wire.common import UPSTREAM_ERRORS
from deployments.wire.observer import EventListResponse, EventRequest, EventResponse
from deployments.workflows import Workflows
from lakehouse.errors import InvalidInput, Unavailable
from lakehouse.workflow import WorkflowLimits
from lakehouse.workflow.spec import load_document

router = APIRouter(prefix="/v1/observer", tags=["observer"], responses=UPSTREAM_ERRORS)
MAX_EVENTS = 1000
WORKFLOW_LIMITS = WorkflowLimits()
WORKFLOW_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
    | {"application/json"}
)


def observer(svc: Services = Depends(services)) -> Facade:
    if svc.observer is None:
        raise Unavailable("the observer is not configured in this replica")
    return svc.observer


@router.post(
    "/events",
    status_code=201,
    response_model=EventResponse,
    summary="Record an event (under the request's trace id)",
)
async def emit_event(body: EventRequest, ring: Facade = Depends(observer)) -> Any:
    event = await ring.emit(body.kind, body.data, trace_id=current_trace_id())
    return event.to_dict()


@router.get("/events", response_model=EventListResponse, summary="Recent events, newest first")
async def list_events(
    kind: str | None = Query(default=None, max_length=128),
    trace_id: str | None = Query(default=None, max_length=128),
    since: float | None = Query(default=None, description="ts at or after (epoch seconds)"),
    until: float | None = Query(default=None, description="ts at or before (epoch seconds)"),
    limit: int = Query(default=100, ge=1, le=MAX_EVENTS),
    ring: Facade = Depends(observer),
) -> Any:
    events = await ring.query(kind=kind, trace_id=trace_id, since=since, until=until, limit=limit)
    return {"events": [event.to_dict() for event in events]}


@router.post(
    "/workflows/run",
    summary="Run a workflow (YAML, or its JSON form)",
    description=(
        "The body is the workflow document (`application/yaml` or `application/json`), or "
        '`{"workflow": <document or YAML text>, "inputs": {...}}` to pass run inputs. 200 '
        "with the run: `status` is `succeeded` or `failed` (then `failed_node` and `error` "
        "say why; later nodes are `skipped`). A document that is malformed, has a cycle or "
        "uses a mode that is not available is refused with 400 and no node runs. Modes: "
        "`sql.query` `{sql}`, `validate` `{kind, payload}`, `embed` `{texts, kind?}` "
        "where the replica has an embedder, and `matrix.search`, `llm.chat`, "
        "`distill.materialize`, `distill.replay`, `drift.report` (each takes its route's "
        "body)."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def run_workflow(request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    source, inputs = await _workflow_body(request)
    workflows = Workflows(svc, request.app.state.assistant, request.app.state.distill)
    result = await workflows.run(source, inputs, current_trace_id())
    return result.to_dict()


async def _workflow_body(request: Request) -> tuple[Any, Mapping[str, Any] | None]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in WORKFLOW_TYPES:
        raise InvalidInput("send the workflow as application/yaml or application/json")
    doc = load_document(await request.body(), WORKFLOW_LIMITS)  # size cap, no YAML aliases
    if not isinstance(doc, Mapping):
        raise InvalidInput("a workflow is an object with a 'nodes' list")
    if "workflow" not in doc:
        return doc, None
    unknown = sorted(str(k) for k in doc if k not in ("workflow", "inputs"))
    if unknown:
        raise InvalidInput(f"a run request has only 'workflow' and 'inputs'; got {unknown}")
    source, inputs = doc["workflow"], doc.get("inputs")
    if not isinstance(source, str | Mapping):
        raise InvalidInput("'workflow' must be the document or its YAML text")
    return source, inputs
