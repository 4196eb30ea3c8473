"""Wire models of ``/v1/observer`` (see ``deployments/routes/observer.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from deployments.wire.base import WireModel

KIND_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"


class EventRequest(WireModel):
    kind: str = Field(pattern=KIND_PATTERN, description="e.g. `app.click`, `fill.proposed`")
    data: dict[str, Any] = Field(default_factory=dict, description="a JSON object (≤ 16 KiB)")


class EventResponse(WireModel):
    id: int
    ts: float
    kind: str
    data: dict[str, Any]
    trace_id: str | None


class EventListResponse(WireModel):
    events: list[EventResponse]
