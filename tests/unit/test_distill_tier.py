"""The model-tier gate's rule, one case per branch, and replay figures from rows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lakehouse.distill.compare import summarize
from lakehouse.distill.tier import TierConfig, choose_tier

CONFIG = TierConfig(small_model="qwen2.5:3b", strong_model="qwen2.5:14b", confident_at=0.55)


def answer(raw: float, boost: float = 0.0, low: bool = False) -> dict:
    hit = {"id": "W1", "explanation": {"raw_score": raw, "playbook_boost": boost}}
    return {"hits": [hit], "low_confidence": low, "best_raw_score": raw}


@pytest.mark.parametrize(
    ("retrieval", "tier", "reason"),
    [
        ({"hits": []}, "strong", "found nothing"),
        (answer(0.9, low=True), "strong", "low_confidence"),
        (answer(0.9, boost=-0.5), "strong", "failures recorded"),
        (answer(0.3, boost=0.4), "small", "success recorded"),
        (answer(0.6), "small", "top raw score >= 0.55"),
        (answer(0.5), "strong", "top raw score < 0.55"),
    ],
)
def test_each_branch_of_the_rule(retrieval, tier, reason):
    choice = choose_tier(CONFIG, retrieval)
    assert choice.tier == tier and reason in choice.reason
    assert choice.model == (CONFIG.small_model if tier == "small" else CONFIG.strong_model)


def test_a_malformed_tier_config_is_refused():
    with pytest.raises(ValidationError):
        TierConfig(small_model="a", strong_model="b", confident_at=3)
    with pytest.raises(ValidationError):
        TierConfig(small_model="bad model name", strong_model="b")


def test_figures_per_model_and_over_all():
    rows = [
        {"mode": "full", "model": "a", "verdicts": ["accepted"], "status": "accepted",
         "grounded_in_roster": True, "latency_ms": 10, "expected_ids": ["W1"], "hit_rank": 1,
         "verdicts_match": True},
        {"mode": "full", "model": "b", "verdicts": ["rejected", "accepted"],
         "status": "accepted", "grounded_in_roster": True, "latency_ms": 30,
         "expected_ids": ["W2"], "hit_rank": 4, "verdicts_match": False},
        {"mode": "full", "model": "b", "verdicts": ["rejected", "rejected"],
         "status": "exhausted", "grounded_in_roster": False, "latency_ms": 50,
         "expected_ids": ["W3"], "hit_rank": None},
    ]  # fmt: skip
    out = summarize(rows)
    assert out["all"]["n"] == 3 and out["all"]["first_shot_rate"] == pytest.approx(1 / 3)
    assert out["b"]["accepted_rate"] == 0.5 and out["b"]["grounded_rate"] == 0.5
    assert out["all"]["hit_at_1"] == pytest.approx(1 / 3)
    assert out["all"]["hit_at_k"] == pytest.approx(2 / 3)
    assert out["all"]["p50_latency_ms"] == 30 and out["a"]["verdicts_match_rate"] == 1.0
