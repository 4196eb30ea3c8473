"""Wire models of ``/v1/embed`` (see ``deployments/routes/embed.py``)."""

from __future__ import annotations

from pydantic import Field

from deployments.wire.base import WireModel
from lakehouse.vectors.packed import Encoding


class EmbedRequest(WireModel):
    texts: list[str] = Field(min_length=1, max_length=256)
    kind: str = Field(default="document", pattern="^(document|query)$")
    encoding: Encoding = Field(
        default="json", description="`base64-f32le` answers the vectors packed (see README)"
    )
