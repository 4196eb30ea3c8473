"""Materializer benchmark: peak RSS and rows/s for days of 10,000 sessions, and a re-run.

    .venv/bin/python bench/distill.py [--sessions 10000] [--days 1]

Writes ``--sessions`` session records per UTC day (``--days`` days) to a session log in the
``session.iterate.v1`` shape the iterate loop writes (1-3 attempts, a ~1.5 KB raw model
reply each, a rejected first attempt in a third of them; written directly, not through a
model), then, each step in a fresh child process so ``ru_maxrss`` is that step's own:

- ``baseline``: the child imports pyarrow and the materializer and does nothing (the floor);
- ``load_all``: the peer a script would write: ``read_sessions`` into one list;
- ``materialize``: a full run into an empty catalog;
- ``materialize_again``: the same inputs again (adds zero rows; reads and dedupes only);
- ``materialize_4x``: four times the sessions in one day, to show memory does not follow
  the input (it follows the batch size and one digest per row).

Data under data/bench/distill (wiped at the start). Writes bench/results/distill.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench" / "distill"
DAY0 = 1_795_000_000.0
REPLY = json.dumps({"candidates": [{"worker_id": f"W{i:06d}"} for i in range(60)]})[:1500]


def write_log(path: Path, sessions: int, days: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for d in range(days):
            for i in range(sessions):
                fh.write(json.dumps(session(d, i)) + "\n")
    return path.stat().st_size


def session(day: int, i: int) -> dict:
    n = 1 + i % 3
    status = ["rejected"] * (n - 1) + ["accepted"]
    ts = DAY0 + day * 86_400 + i * (80_000 / 10_000)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(ts))
    attempts = [
        {"n": k + 1, "prompt": f"fill request {i} for a forklift crew", "raw": REPLY,
         "status": s, "errors": [{"Consistency": {"reason": "unknown worker id"}}] * (s != "accepted"),
         "provider": "ollama", "latency_ms": 850.0 + k, "raw_truncated": False}
        for k, s in enumerate(status)
    ]  # fmt: skip
    return {"schema": "session.iterate.v1", "session_id": f"d{day}-s{i:06d}",
            "trace_id": f"t{day}-{i}", "started_at": iso, "finished_at": iso,
            "model": "qwen2.5:3b" if i % 4 else "qwen2.5:14b", "kind": "fill", "max_iter": 3,
            "pinned": {"role": "Forklift Operator"}, "system": "You propose fills.",
            "attempts": attempts, "status": "accepted", "accepted": True,
            "grounded_in_roster": True}  # fmt: skip


CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from lakehouse.catalog import Catalog
from lakehouse.distill import Materializer
from lakehouse.iterate import read_sessions
from lakehouse.storage.local import LocalStore
work, step = Path({work!r}), {step!r}
store = LocalStore(work / "objects", work / "tmp", 1 << 30, 1000)
start = time.perf_counter()
out = {{}}
if step == "load_all":
    out["records"] = len(list(read_sessions(work / "logs" / "sessions.iterate.jsonl")))
elif step != "baseline":
    receipt = Materializer(store, work / "logs", work / "tmp").run(Catalog(store), ["sessions"])
    out["rows_added"] = receipt["rows_added"]
    out["duplicates"] = receipt["transforms"]["sessions"]["duplicate"]
out["seconds"] = round(time.perf_counter() - start, 3)
out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(out))
"""


def child(work: Path, step: str) -> dict:
    code = CHILD.format(root=str(ROOT), work=str(work), step=step)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    size = write_log(WORK / "logs" / "sessions.iterate.jsonl", args.sessions, args.days)
    results = {"sessions_per_day": args.sessions, "days": args.days, "log_mib": size / 2**20}
    for step in ("baseline", "load_all", "materialize", "materialize_again"):
        results[step] = child(WORK, step)
    big = WORK.parent / "distill-4x"
    shutil.rmtree(big, ignore_errors=True)
    results["log_4x_mib"] = write_log(big / "logs" / "sessions.iterate.jsonl",
                                      4 * args.sessions, 1) / 2**20  # fmt: skip
    results["materialize_4x"] = child(big, "materialize")
    shutil.rmtree(big, ignore_errors=True)
    results["bench_process_peak_rss_mib"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    print(f"{'step':<20}{'peak RSS MiB':>14}{'seconds':>10}")
    for step in ("baseline", "load_all", "materialize", "materialize_again", "materialize_4x"):
        print(f"{step:<20}{results[step]['peak_rss_mib']:>14}{results[step]['seconds']:>10}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distill.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
