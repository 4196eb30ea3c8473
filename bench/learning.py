"""The learning loop's measured claims (issue 14), on the staffing generator, no LLM.

    .venv/bin/python bench/learning.py [--pool 1200] [--per-side 150] [--rows 400]

1. **Drift calibration.** ``--pool`` generated profiles embedded once with the in-process
   model. Planted shift: window a drawn from every role, window b from the 8 commonest roles
   only (``--shift-seeds`` draws); the same-distribution baseline: two disjoint samples of
   the pool (``--trials`` draws). Each pair goes through the MMD permutation test
   (``lakehouse.drift.mmd_test``, 500 permutations) and the centroid cosine distance; the
   counts flagged at p < 0.01 are the result (the claim: every shift, at most 1 of 20 nulls).
2. **hit@1 rising.** The real app in process (``build_services(..., "local")``, the route
   handlers over TestClient, no network): ``--rows`` workers ingested and embedded, staffing
   intents with one placed worker each; a retrieval-only replay (``POST /v1/distill/replay``,
   no model) before and after the placements are recorded in the playbook, with the
   recorded phrasing and with the intent's other phrasing (the same need worded by another
   recruiter: does the playbook generalise past the exact text?).

The peak RSS of materializing a day of 10,000 sessions is ``bench/distill.py``'s (results in
``bench/results/distill.json``). Data under data/bench/learning (wiped at the start). Writes
bench/results/learning.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lakehouse.drift import centroid_distance, mmd_test  # noqa: E402
from lakehouse.embed import EmbedConfig  # noqa: E402
from lakehouse.embed.onnx_embedder import OnnxEmbedder  # noqa: E402
from lakehouse.settings import Settings  # noqa: E402
from lakehouse.staffing import generate_batches, write_csv  # noqa: E402
from lakehouse.staffing.intents import make_intents, relevant  # noqa: E402
from lakehouse.vectors.profile import STAFFING  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench" / "learning"
ALPHA = 0.01


def drift_calibration(vectors, rows, per_side: int, shift_seeds: int, trials: int) -> dict:
    top = {r for r, _ in Counter(r["role"] for r in rows).most_common(8)}
    heavy = [i for i, r in enumerate(rows) if r["role"] in top]
    shifted, nulls = [], []
    for seed in range(shift_seeds):
        rng = np.random.default_rng(seed)
        a = rng.choice(len(rows), per_side, replace=False)
        b = rng.choice(heavy, per_side, replace=False)
        shifted.append(_pair(vectors[a], vectors[b], seed))
    for trial in range(trials):
        order = np.random.default_rng(100 + trial).permutation(len(vectors))
        a, b = order[:per_side], order[per_side : 2 * per_side]
        nulls.append(_pair(vectors[a], vectors[b], trial))
    return {
        "per_side": per_side, "alpha": ALPHA, "permutations": 500,
        "shift_flagged": sum(p["p_value"] < ALPHA for p in shifted), "shift_draws": shift_seeds,
        "null_flagged": sum(p["p_value"] < ALPHA for p in nulls), "null_trials": trials,
        "shift": shifted, "null": nulls,
    }  # fmt: skip


def _pair(a, b, seed: int) -> dict:
    test = mmd_test(a, b, permutations=500, seed=seed)
    return {"p_value": round(test.p_value, 4),
            "centroid_distance": round(centroid_distance(a, b), 5)}  # fmt: skip


def hit_at_1(settings: Settings, embedder, n_rows: int) -> dict:
    from starlette.testclient import TestClient

    from actors.services import build_services
    from deployments.api import create_api

    services = build_services(settings, "local", embedder=embedder)
    services.embedder = embedder
    client = TestClient(create_api(services), client=("127.0.0.1", 50000))
    rows = [r for b in generate_batches(n_rows) for r in b.to_pylist()]
    with client:
        _load(client, settings, rows)
        intents = make_intents(rows, per_role=1, min_relevant=3)
        placed = {i.key: sorted(relevant(i, rows))[-1:] for i in intents}
        out: dict = {"rows": n_rows, "intents": len(intents)}
        for when in ("before", "after"):
            if when == "after":
                records = [{"query": i.phrasings[0], "ids": placed[i.key], "outcome": "success"}
                           for i in intents]  # fmt: skip
                _ok(client.post("/v1/matrix/playbooks/record/bulk", json={"records": records}))
            for n, label in ((0, "recorded_phrasing"), (1, "other_phrasing")):
                tasks = [{"task_id": i.key, "prompt": i.phrasings[n], "expected_ids": placed[i.key]}
                         for i in intents]  # fmt: skip
                body = {"tasks": tasks, "mode": "retrieval", "k": 10}
                figures = _ok(client.post("/v1/distill/replay", json=body))["summary"]["all"]
                out[f"{when}_{label}"] = {"hit_at_1": figures["hit_at_1"],
                                          "hit_at_k": figures["hit_at_k"]}  # fmt: skip
    return out


def _load(client, settings: Settings, rows: list[dict]) -> None:
    csv = settings.data_dir / "workers.csv"
    write_csv(csv, len(rows))
    _ok(client.post("/v1/ingest", params={"name": "workers"},
                    files={"file": ("w.csv", csv.read_bytes())}))  # fmt: skip
    _ok(client.post("/v1/vectors/corpora", json={"name": "workers", "dim": 384}))
    body = {"ids": [str(r["worker_id"]) for r in rows],
            "texts": [STAFFING.row_text(r) for r in rows],
            "metadata": [{c: r[c] for c in STAFFING.metadata_columns} for r in rows]}  # fmt: skip
    _ok(client.post("/v1/vectors/corpora/workers/add", json=body))


def _ok(resp) -> dict:
    if resp.status_code >= 300:
        raise RuntimeError(f"{resp.request.url}: {resp.status_code} {resp.text[:300]}")
    return resp.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pool", type=int, default=1200)
    parser.add_argument("--per-side", type=int, default=150)
    parser.add_argument("--shift-seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rows", type=int, default=400)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    settings = Settings(data_dir=WORK / "data", sql_timeout_s=10.0)
    settings.data_dir.mkdir(parents=True)
    started = time.perf_counter()
    rows = pa.Table.from_batches(list(generate_batches(args.pool))).to_pylist()
    with OnnxEmbedder.open(EmbedConfig()) as embedder:
        vectors = embedder.embed_documents([STAFFING.row_text(r) for r in rows])
        drift = drift_calibration(vectors, rows, args.per_side, args.shift_seeds, args.trials)
        ranks = hit_at_1(settings, embedder, args.rows)
    results = {
        "drift": drift,
        "hit_at_1": ranks,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"drift: planted shift flagged {drift['shift_flagged']}/{drift['shift_draws']}, "
          f"same distribution flagged {drift['null_flagged']}/{drift['null_trials']} (p < {ALPHA})")  # fmt: skip
    print(f"{'replay (retrieval only)':<34}{'hit@1':>8}{'hit@10':>8}")
    for key in ("before_recorded_phrasing", "after_recorded_phrasing",
                "before_other_phrasing", "after_other_phrasing"):  # fmt: skip
        print(f"{key:<34}{ranks[key]['hit_at_1']:>8.3f}{ranks[key]['hit_at_k']:>8.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "learning.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
