"""Wire models of ``/v1/distill`` and ``/v1/drift`` (the bodies the core does not own:
``ReplayRequest`` and ``DriftRequest`` live with their core modules, as ``IterateRequest``
does)."""

from __future__ import annotations

from pydantic import Field

from deployments.wire.base import WireModel
from lakehouse.drift import Window

RUN_ID = r"^[A-Za-z0-9-]+$"
BASELINE_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class MaterializeRequest(WireModel):
    """``POST /v1/distill/materialize`` body; no ``transforms`` means all of them."""

    transforms: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="some of sessions, replay_runs, observer_events, playbook_records, "
        "pathway_events",
    )


class CompareRequest(WireModel):
    """``POST /v1/distill/replay/compare``: two replay run ids."""

    a: str = Field(min_length=1, max_length=64, pattern=RUN_ID)
    b: str = Field(min_length=1, max_length=64, pattern=RUN_ID)


class BaselineRequest(WireModel):
    """``POST /v1/drift/baselines`` body: save ``window``'s quality figures as ``name``."""

    name: str = Field(pattern=BASELINE_NAME)
    window: Window
