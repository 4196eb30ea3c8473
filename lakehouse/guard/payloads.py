"""Wire models of the payloads the validators accept.

Shape problems found here become ``Schema`` violations (see ``validator.py``); the rules
that need judgement (blank text, roster facts, policy) live in the per-kind modules, so
that a model fed the errors back hears one precise reason per problem.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TARGET = 1_000
MAX_CANDIDATES = 1_000
SHIFTS = ("day", "evening", "night", "weekend", "rotating")
KINDS = ("fill", "email", "sms", "playbook")

Shift = Literal["day", "evening", "night", "weekend", "rotating"]
Name = Annotated[str, Field(max_length=200)]


class Candidate(BaseModel):
    """One proposed worker. Only ``worker_id`` is trusted; it must be in the roster.

    Models attach names, reasons or scores to each candidate, so unknown keys are kept
    (and ignored) rather than rejected; a given ``name`` is checked against the roster.
    """

    model_config = ConfigDict(extra="allow")

    worker_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)


class FillPayload(BaseModel):
    """A proposed staffing fill: who would fill ``target_count`` openings for ``role``."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=100)
    location: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[^,]+(,\s*[A-Za-z]{2}\s*)?$",
        description="'City, ST', 'City' or a two-letter state",
    )
    shift: Shift | None = None
    target_count: int = Field(ge=1, le=MAX_TARGET, strict=True)
    candidates: list[Candidate] = Field(max_length=MAX_CANDIDATES)


class EmailPayload(BaseModel):
    """An outbound email to a worker or a client."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=50_000)


class SmsPayload(BaseModel):
    """An outbound text message; the 160-character limit is a policy check, not a bound."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(max_length=32)
    body: str = Field(max_length=5_000)


class PlaybookPayload(BaseModel):
    """A playbook entry: the names endorsed for a ``fill:`` operation."""

    model_config = ConfigDict(extra="forbid")

    operation: str = Field(max_length=500)
    endorsed_names: list[Name] = Field(max_length=2 * MAX_TARGET)
    target_count: int = Field(ge=1, le=MAX_TARGET, strict=True)
    fingerprint: str = Field(max_length=128)


class ValidateRequest(BaseModel):
    """``POST /v1/validate`` body; an unknown ``kind`` is a 400 raised by the validator."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32)
    payload: dict[str, Any]
