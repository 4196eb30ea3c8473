"""Wire models of ``/v1/embed`` (see ``deployments/routes/embed.py``)."""

from __future__ import annotations

from pydantic import Field

from deployments.wire.base import WireModel


class EmbedRequest(WireModel):
    texts: list[str] = Field(min_length=1, max_length=256)
    kind: str = Field(default="document", pattern="^(document|query)$")
