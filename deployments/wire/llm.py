"""The ``POST /v1/iterate`` body: the core ``IterateRequest`` with the model-tier gate."""

from __future__ import annotations

from pydantic import Field, model_validator

from lakehouse.chat.messages import MODEL_PATTERN
from lakehouse.distill.tier import IterateTier
from lakehouse.iterate import IterateRequest


class IterateBody(IterateRequest):
    """``IterateRequest`` where ``tier`` may stand in for ``model``: the gate picks the small
    or the strong model from a matrix search of the prompt (``lakehouse.distill.tier``)."""

    model: str | None = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=200, pattern=MODEL_PATTERN
    )
    tier: IterateTier | None = None

    @model_validator(mode="after")
    def _model_or_tier(self) -> IterateBody:
        if (self.model is None) == (self.tier is None):
            raise ValueError("send exactly one of model or tier")
        return self

    def request(self, model: str | None = None) -> IterateRequest:
        """The core request, with ``model`` (the gate's choice) where none was sent."""
        fields = self.model_dump(exclude={"model", "tier"})
        return IterateRequest(**fields, model=model or self.model)
