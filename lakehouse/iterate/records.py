"""The iterate loop's request, per-attempt record and result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lakehouse.chat.messages import MODEL_PATTERN

MAX_ITER = 10
MAX_PROMPT_CHARS = 50_000


class IterateRequest(BaseModel):
    """``POST /v1/iterate`` body.

    ``pinned`` holds fields the caller decides (say ``role``, ``location`` and
    ``target_count`` of a fill): they overwrite whatever the model proposes before
    validation, so a model cannot pass by changing the question.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200, pattern=MODEL_PATTERN)
    kind: str = Field(min_length=1, max_length=32)
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_iter: int = Field(default=3, ge=1, le=MAX_ITER)
    pinned: dict[str, Any] = Field(default_factory=dict, max_length=32)
    system: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)


Status = Literal["accepted", "rejected", "unparseable", "provider_error"]


@dataclass(frozen=True)
class Attempt:
    """One round: what was asked, what came back, and the verdict on it."""

    n: int
    prompt: str
    raw: str | None
    status: Status
    errors: list[dict[str, Any]] = field(default_factory=list)
    provider: str | None = None
    latency_ms: float | None = None
    raw_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IterateResult:
    """The outcome of a session.

    Attributes:
        status: ``accepted``, or ``exhausted`` when ``max_iter`` attempts all failed.
        payload: the accepted payload (pinned fields applied); None unless accepted.
        errors: the last attempt's violations; empty when accepted.
        reason: why not accepted, in one line; None when accepted.
        grounded_in_roster: for fills, whether every candidate was found in the roster.
    """

    session_id: str
    trace_id: str
    model: str
    kind: str
    status: Literal["accepted", "exhausted"]
    attempts: int
    payload: dict[str, Any] | None
    errors: list[dict[str, Any]]
    reason: str | None
    grounded_in_roster: bool | None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accepted": self.accepted}
