"""Replay figures, and the side-by-side comparison of two replay runs.

Per model (and ``all``): ``n``, ``first_shot_rate`` (accepted at the first attempt),
``accepted_rate`` (accepted within ``max_iter``), ``grounded_rate``, ``p50_latency_ms``,
``hit_at_1`` and ``hit_at_k`` (a recorded success anywhere in what retrieval returned),
``verdicts_match_rate`` (rows whose verdicts equal the original session's). Rates are over
the rows that have the figure (retrieval-only rows have no acceptance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lakehouse.errors import NotFound
from lakehouse.jsonl import decode_line

SCHEMA = "replay_run.v1"
FIGURES = ("first_shot_rate", "accepted_rate", "grounded_rate", "p50_latency_ms", "hit_at_1",
           "hit_at_k", "verdicts_match_rate")  # fmt: skip


def read_runs(rows: Iterable[dict[str, Any]], run_ids: set[str]) -> dict[str, list[dict]]:
    """The rows of each run in ``run_ids``, streamed from the replay log's ``rows``."""
    out: dict[str, list[dict[str, Any]]] = {r: [] for r in run_ids}
    for row in rows:
        if row.get("schema") == SCHEMA and row.get("run_id") in out:
            out[row["run_id"]].append(row)
    missing = sorted(r for r, rows in out.items() if not rows)
    if missing:
        raise NotFound(f"no replay run with id(s) {missing}")
    return out


def file_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The replay rows of a JSONL file (the node-local log of versions before the store's)."""
    if not path.exists():
        return
    with open(path, "rb") as fh:
        for line in fh:
            try:
                row = decode_line(line)
            except ValueError:
                continue  # a torn line: the materializer reports those
            if isinstance(row, dict) and row.get("schema") == SCHEMA:
                yield row


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Figures per model and over all rows."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        if row.get("model"):
            groups[row["model"]].append(row)
    return {model: _figures(group) for model, group in sorted(groups.items())}


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    full = [r for r in rows if r.get("mode") == "full"]
    verdicts = [r["verdicts"] for r in full if r.get("verdicts")]
    grounded = [r["grounded_in_roster"] for r in full if r.get("grounded_in_roster") is not None]
    ranked = [r for r in rows if r.get("expected_ids")]
    matches = [r["verdicts_match"] for r in full if r.get("verdicts_match") is not None]
    latency = [r["latency_ms"] for r in rows if isinstance(r.get("latency_ms"), int | float)]
    return {
        "n": len(rows),
        "first_shot_rate": _rate(v[0] == "accepted" for v in verdicts),
        "accepted_rate": _rate(r.get("status") == "accepted" for r in full),
        "grounded_rate": _rate(grounded),
        "p50_latency_ms": float(np.median(latency)) if latency else None,
        "hit_at_1": _rate(r.get("hit_rank") == 1 for r in ranked),
        "hit_at_k": _rate(r.get("hit_rank") is not None for r in ranked),
        "verdicts_match_rate": _rate(matches),
    }


def _rate(flags: Iterable[bool]) -> float | None:
    values = [bool(f) for f in flags]
    return round(sum(values) / len(values), 6) if values else None


def compare(rows: Iterable[dict[str, Any]], run_a: str, run_b: str) -> dict[str, Any]:
    """Side by side: each run's figures per model, and ``b - a`` where both have one."""
    runs = read_runs(rows, {run_a, run_b})
    a, b = summarize(runs[run_a]), summarize(runs[run_b])
    delta = {}
    for model in sorted(set(a) & set(b)):
        delta[model] = {
            f: round(b[model][f] - a[model][f], 6)
            for f in FIGURES
            if a[model][f] is not None and b[model][f] is not None
        }
    return {"a": {"run_id": run_a, "figures": a}, "b": {"run_id": run_b, "figures": b},
            "delta": delta}  # fmt: skip
