"""Drift reports: sample sizes, statistics and a verdict against configurable thresholds.

=========  ==============================================  ===================================
kind       compares                                        drifted when
=========  ==============================================  ===================================
embedding  embedded texts of two windows (``column``)      MMD permutation p < ``alpha`` and
                                                           centroid distance >=
                                                           ``min_centroid_distance``
verdict    session/replay status and error-class shares    a chi-square p < ``alpha``
playbook   recorded successes against the roster in        any success names a worker who is
           ``b`` (and ``a``, the roster it was recorded    gone from ``b``, whose role differs
           against), and against what retrieval in        between ``a`` and ``b``, or (with
           ``rank_corpus`` returns for their query now     ``rank_corpus``) who is no longer
                                                           in the top ``rank_k`` for the query
baseline   quality figures of ``b`` against a saved        a rate fell by more than
           baseline                                        ``max_rate_drop`` or latency rose
                                                           by more than ``max_latency_rise``
=========  ==============================================  ===================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from lakehouse.drift.stats import centroid_distance, chi_square, mmd_test, shares
from lakehouse.drift.windows import Window

Kind = Literal["embedding", "verdict", "playbook", "baseline"]
RATES = ("accepted_rate", "first_shot_rate", "grounded_rate")


class DriftThresholds(BaseModel):
    """What counts as drift; every bound is checked (400 when malformed)."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(default=0.01, gt=0, lt=1)
    min_centroid_distance: float = Field(default=0.0, ge=0, le=2)
    max_rate_drop: float = Field(default=0.05, ge=0, le=1)
    max_latency_rise: float = Field(default=0.25, ge=0, le=100)
    permutations: int = Field(default=500, ge=99, le=5000)


class DriftRequest(BaseModel):
    """``POST /v1/drift/report`` body.

    ``a`` and ``b`` are the two windows (``b`` the newer); ``baseline`` names a saved
    baseline (kind ``baseline``); ``column`` the text column embedded (kind ``embedding``);
    ``sample`` caps the rows embedded per side (drawn with ``seed``); ``corpus`` the
    playbook whose records are checked (kind ``playbook``); ``rank_corpus`` the corpus each
    success's query is searched in (no playbook boost), to name the workers who no longer
    rank in its top ``rank_k`` (at most ``sample`` distinct queries are searched).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    a: Window | None = None
    b: Window | None = None
    baseline: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    column: str = Field(default="resume", min_length=1, max_length=64)
    sample: int = Field(default=300, ge=10, le=2000)
    seed: int = Field(default=0, ge=0, le=2**31)
    corpus: str = Field(default="_playbook", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
    rank_corpus: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$")
    rank_k: int = Field(default=10, ge=1, le=100)
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)


def embedding_report(a: np.ndarray, b: np.ndarray, th: DriftThresholds, seed: int) -> dict:
    """Centroid cosine distance plus the permutation MMD test between two vector samples."""
    distance = centroid_distance(a, b)
    test = mmd_test(a, b, th.permutations, seed)
    drifted = test.p_value < th.alpha and distance >= th.min_centroid_distance
    return _report(
        "embedding",
        {"a": len(a), "b": len(b)},
        {"centroid_cosine_distance": distance, "mmd2": test.to_dict()},
        drifted,
        th,
    )


def verdict_report(a: pa.Table, b: pa.Table, th: DriftThresholds) -> dict:
    """Chi-square tests of the final statuses and of the error classes between windows."""
    out: dict[str, Any] = {}
    drifted = False
    for name, count in (("status", _statuses), ("error_classes", _classes)):
        ca, cb = count(a), count(b)
        test = chi_square(ca, cb)
        out[name] = {"a": shares(ca), "b": shares(cb), "counts_a": dict(ca), "counts_b": dict(cb)}
        out[name]["chi_square"] = test.to_dict() if test else None
        drifted |= test is not None and test.p_value < th.alpha
    return _report("verdict", {"a": a.num_rows, "b": b.num_rows}, out, drifted, th)


def _statuses(table: pa.Table) -> Counter[str]:
    return Counter(str(s) for s in table.column("status").to_pylist())


def _classes(table: pa.Table) -> Counter[str]:
    return Counter(c for row in table.column("error_classes").to_pylist() for c in row or [])


def playbook_report(
    records: Iterable[dict[str, Any]], now: dict[str, str], then: dict[str, str] | None,
    th: DriftThresholds, ranked: Mapping[str, list[str]] | None = None,
) -> dict:  # fmt: skip
    """Successes whose worker left the roster (``now``), changed role since ``then``, or no
    longer ranks for the query (``ranked``: query -> the ids retrieval returns for it now).

    ``now`` and ``then`` map worker id to role. A success whose query was not searched
    (over the cap) is counted in ``rank_unchecked``.
    """
    removed, changed, unranked, checked, unchecked = [], [], [], 0, 0
    for rec in records:
        if rec.get("outcome") != "success":
            continue
        checked += 1
        top = None if ranked is None else ranked.get(rec.get("query"))  # type: ignore[arg-type]
        unchecked += ranked is not None and top is None
        for wid in rec.get("ids", []):
            entry = {"record_id": rec.get("record_id"), "query": rec.get("query"), "id": wid}
            if wid not in now:
                removed.append(entry)
                continue  # gone from the roster: it cannot rank either
            if then is not None and wid in then and then[wid] != now[wid]:
                changed.append({**entry, "role_then": then[wid], "role_now": now[wid]})
            if top is not None and wid not in top:
                unranked.append({**entry, "rank_k": len(top)})
    stats = {"removed": removed, "changed_role": changed, "no_longer_ranks": unranked,
             "role_check": then is not None, "rank_check": ranked is not None,
             "rank_unchecked": unchecked}  # fmt: skip
    sizes = {"successes": checked, "roster_now": len(now), "roster_then": len(then or {}),
             "queries_searched": len(ranked or {})}  # fmt: skip
    return _report("playbook", sizes, stats, bool(removed or changed or unranked), th)


def figures(table: pa.Table) -> dict[str, Any]:
    """Quality figures of a window of session or replay evidence."""
    rows = table.num_rows
    status = table.column("status").to_pylist()
    first = table.column("first_shot_accepted").to_pylist()
    grounded = [g for g in table.column("grounded_in_roster").to_pylist() if g is not None]
    latency = [x for x in table.column("latency_ms").to_pylist() if x is not None]
    attempts = table.column("attempts").to_pylist()
    return {
        "n": rows,
        "accepted_rate": _rate(s == "accepted" for s in status),
        "first_shot_rate": _rate(bool(f) for f in first),
        "grounded_rate": _rate(grounded) if grounded else None,
        "mean_attempts": float(np.mean(attempts)) if rows else None,
        "p50_latency_ms": float(np.median(latency)) if latency else None,
    }


def _rate(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None


def baseline_report(now: dict[str, Any], base: dict[str, Any], th: DriftThresholds) -> dict:
    """``now``'s figures against a saved baseline's."""
    breaches = []
    for name in RATES:
        was, is_now = base.get(name), now.get(name)
        if was is not None and is_now is not None and was - is_now > th.max_rate_drop:
            breaches.append({"figure": name, "baseline": base[name], "now": now[name]})
    lat_now, lat_base = now.get("p50_latency_ms"), base.get("p50_latency_ms")
    if lat_now is not None and lat_base and (lat_now - lat_base) / lat_base > th.max_latency_rise:
        breaches.append({"figure": "p50_latency_ms", "baseline": lat_base, "now": lat_now})
    stats = {"now": now, "baseline": base, "breaches": breaches}
    sizes = {"baseline": base.get("n", 0), "b": now.get("n", 0)}
    return _report("baseline", sizes, stats, bool(breaches), th)


def _report(kind: str, sizes: dict, statistics: dict, drifted: bool, th: DriftThresholds) -> dict:
    return {
        "kind": kind,
        "sample_sizes": sizes,
        "statistics": statistics,
        "thresholds": th.model_dump(),
        "drifted": drifted,
        "verdict": "drift" if drifted else "no_drift",
    }


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of at most ``size`` of ``n`` rows."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


EmbedFn = Callable[[list[str]], np.ndarray]
