"""The base of every HTTP wire model: unknown fields are refused (422 → 400)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
