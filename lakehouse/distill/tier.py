"""The model-tier gate: a small model where retrieval is sure and the past went well, a
strong one otherwise.

The rule, in order (the first that applies decides):

1. retrieval flagged the query ``low_confidence`` (its best raw cosine is under the matrix
   threshold): **strong** — the model must work from weak facts;
2. the playbook's boost on the top hit is negative (failures were recorded for similar
   queries): **strong**;
3. the boost is positive (a success was recorded for a similar query): **small** — the
   answer is known to be reachable;
4. otherwise the top hit's raw score: at least ``confident_at`` -> **small**, else
   **strong**.

With no hits at all the task goes to the strong model. The decision and its reason are
recorded in the row (``tier: {"tier", "model", "reason", "best_score"}``): in the replay
row, and in the ``session.iterate.v1`` row when ``POST /v1/iterate`` is sent a ``tier``
instead of a ``model`` (its prompt is searched in ``tier.corpus`` with the playbook first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lakehouse.chat.messages import MODEL_PATTERN


class TierConfig(BaseModel):
    """The two models and the score at which retrieval counts as sure."""

    model_config = ConfigDict(extra="forbid")

    small_model: str = Field(min_length=1, max_length=200, pattern=MODEL_PATTERN)
    strong_model: str = Field(min_length=1, max_length=200, pattern=MODEL_PATTERN)
    confident_at: float = Field(default=0.55, ge=-1, le=1)


class IterateTier(TierConfig):
    """The gate on ``POST /v1/iterate``: the two models and the corpus its prompt is searched
    in (with the playbook) to decide between them."""

    corpus: str = Field(default="workers", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$")
    k: int = Field(default=5, ge=1, le=100)


@dataclass(frozen=True)
class TierChoice:
    tier: str
    model: str
    reason: str
    best_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "model": self.model, "reason": self.reason,
                "best_score": self.best_score}  # fmt: skip


def choose_tier(config: TierConfig, retrieval: dict[str, Any]) -> TierChoice:
    """Pick the model for one task from its matrix search answer (see the module rule)."""
    hits = retrieval.get("hits") or []
    if not hits:
        return _pick(config, "strong", "retrieval found nothing", None)
    top = hits[0].get("explanation") or {}
    best = retrieval.get("best_raw_score")
    best = float(best) if isinstance(best, int | float) else _best_raw(hits)
    boost = float(top.get("playbook_boost") or 0.0)
    if retrieval.get("low_confidence"):
        return _pick(config, "strong", "retrieval is low_confidence", best)
    if boost < 0:
        return _pick(config, "strong", "failures recorded for similar queries", best)
    if boost > 0:
        return _pick(config, "small", "a success recorded for a similar query", best)
    if best is not None and best >= config.confident_at:
        return _pick(config, "small", f"top raw score >= {config.confident_at:g}", best)
    return _pick(config, "strong", f"top raw score < {config.confident_at:g}", best)


def _best_raw(hits: list[dict[str, Any]]) -> float | None:
    scores = [(h.get("explanation") or {}).get("raw_score") for h in hits]
    numbers = [float(s) for s in scores if isinstance(s, int | float)]
    return max(numbers) if numbers else None


def _pick(config: TierConfig, tier: str, reason: str, best: float | None) -> TierChoice:
    model = config.small_model if tier == "small" else config.strong_model
    return TierChoice(tier, model, reason, best)
