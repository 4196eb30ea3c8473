"""Merge ranked hit lists from several corpora into one list, de-duplicated by id.

Two fusions, both weighted per corpus (weight 0..10):

- ``score``: each corpus's raw scores are min-max normalised over that corpus's hits
  (best → 1, worst → 0; a single hit or all-equal scores → 1), then multiplied by the weight.
- ``rrf``: reciprocal-rank fusion, ``weight / (k_rrf + rank)`` with 1-based ranks.

An id found in several corpora keeps its best contribution as its fused score; every
contribution is kept for the explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lakehouse.errors import InvalidInput

FUSIONS = ("rrf", "score")
K_RRF = 60


def contributions(
    hits: Sequence[Mapping[str, Any]], weight: float, method: str, k_rrf: int = K_RRF
) -> list[dict[str, Any]]:
    """One corpus's hits (best first) with their rank and weighted fusion score."""
    if method not in FUSIONS:
        raise InvalidInput(f"fusion must be one of {', '.join(FUSIONS)}", field="fusion")
    scores = [float(h["score"]) for h in hits]
    low, high = (min(scores), max(scores)) if scores else (0.0, 0.0)
    out = []
    for rank, (hit, raw) in enumerate(zip(hits, scores, strict=True), start=1):
        if method == "rrf":
            part = weight / (k_rrf + rank)
        else:
            part = weight * ((raw - low) / (high - low) if high > low else 1.0)
        out.append({"id": hit["id"], "metadata": hit.get("metadata"), "raw_score": raw,
                    "rank": rank, "fusion_score": part})  # fmt: skip
    return out


def fuse(
    results: Mapping[str, Sequence[Mapping[str, Any]]],
    weights: Mapping[str, float],
    method: str = "rrf",
    k_rrf: int = K_RRF,
) -> list[dict[str, Any]]:
    """``{corpus: hits}`` → merged ``[{"id", "metadata", "fused", "contributions"}]``.

    Sorted by fused score, best first (ties by id, so the order is deterministic). Each
    contribution is ``{"corpus", "raw_score", "rank", "fusion_score"}``, best first.
    """
    merged: dict[str, dict[str, Any]] = {}
    for corpus, hits in results.items():
        for part in contributions(hits, weights[corpus], method, k_rrf):
            entry = merged.setdefault(part["id"], {"id": part["id"], "contributions": []})
            entry["contributions"].append({"corpus": corpus, **_explain(part)})
            if "fused" not in entry or part["fusion_score"] > entry["fused"]:
                entry["fused"], entry["metadata"] = part["fusion_score"], part["metadata"]
    for entry in merged.values():
        entry["contributions"].sort(key=lambda c: (-c["fusion_score"], c["corpus"]))
    return sorted(merged.values(), key=lambda e: (-e["fused"], e["id"]))


def _explain(part: Mapping[str, Any]) -> dict[str, Any]:
    return {k: part[k] for k in ("raw_score", "rank", "fusion_score")}
