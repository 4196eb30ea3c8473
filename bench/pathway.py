"""Pathway store benchmark: add and search throughput, replay time of a 1M-event log.

Each measurement is paired with a baseline taken in the same run on the same data:

    add       PathwayStore.add (fsync per add, and without fsync)  vs  a plain dict insert,
              and vs a bare append + fsync of the same line (the durability floor)
    search    lexical BM25 search, tag search, recent-first  vs  a linear word-overlap scan
    replay    PathwayStore construction over the log  vs  json.loads of every line

Usage: .venv/bin/python bench/pathway.py [--replay-events 1000000] [--quick]
Writes bench/results/pathway.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/lakehouse.py must not shadow the package

from lakehouse.pathway import PathwayStore  # noqa: E402
from lakehouse.pathway.events import EVENT_SCHEMA, encode_event  # noqa: E402
from lakehouse.pathway.index import content_text  # noqa: E402
from lakehouse.pathway.lexical import tokenize  # noqa: E402
from lakehouse.staffing import LABELLED_QUERIES, generate_batches  # noqa: E402
from tests.pathway_dirlog import LocalDirLog  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "pathway.json"


def profiles(n: int) -> list[dict]:
    """``n`` worker-profile contents (a realistic trace body, ~350 bytes of JSON)."""
    keep = ("worker_id", "role", "city", "state", "skills", "certifications", "shift")
    out: list[dict] = []
    for batch in generate_batches(n):
        cols = {k: batch.column(k).to_pylist() for k in keep}
        out.extend({k: cols[k][i] for k in keep} for i in range(batch.num_rows))
    return out


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---- add ----------------------------------------------------------------------------------


def bench_add(work: Path, n_fast: int, n_durable: int) -> dict:
    docs = profiles(max(n_fast, n_durable))
    tags = [[d["role"], d["shift"]] for d in docs]

    def add_all(store: PathwayStore, n: int) -> None:
        for i in range(n):
            store.add(docs[i], tags[i])

    durable = PathwayStore(LocalDirLog(work / "durable", compact_after=None))
    t_durable = timed(lambda: add_all(durable, n_durable))
    fast = PathwayStore(LocalDirLog(work / "nosync", compact_after=None, sync=False))
    t_fast = timed(lambda: add_all(fast, n_fast))

    table: dict[str, dict] = {}
    t_dict = timed(lambda: _dict_inserts(docs, tags, n_fast))
    t_floor = timed(lambda: _append_fsync(work / "floor.jsonl", docs, n_durable))
    durable.close()
    fast.close()
    table["add (fsync each)"] = {"n": n_durable, "per_s": rate(n_durable, t_durable)}
    table["add (no fsync)"] = {"n": n_fast, "per_s": rate(n_fast, t_fast)}
    table["baseline: dict insert"] = {"n": n_fast, "per_s": rate(n_fast, t_dict)}
    table["baseline: append+fsync"] = {"n": n_durable, "per_s": rate(n_durable, t_floor)}
    return table


def _dict_inserts(docs: list[dict], tags: list[list[str]], n: int) -> None:
    plain: dict[str, tuple] = {}
    for i in range(n):
        plain[str(uuid.uuid4())] = (docs[i], tags[i])


def _append_fsync(path: Path, docs: list[dict], n: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for i in range(n):
            os.write(fd, (json.dumps(docs[i]) + "\n").encode())
            os.fsync(fd)
    finally:
        os.close(fd)


# ---- search -------------------------------------------------------------------------------


def bench_search(work: Path, n_docs: int, n_queries: int) -> dict:
    docs = profiles(n_docs)
    directory = work / "search"
    _write_adds(directory / LocalDirLog.TAIL, docs)
    store = PathwayStore(LocalDirLog(directory, compact_after=None))
    texts = [q["query"] for q in LABELLED_QUERIES]
    queries = [texts[i % len(texts)] for i in range(n_queries)]
    roles = sorted({d["role"] for d in docs})

    t_build = timed(lambda: store.search(queries[0]))
    t_text = timed(lambda: [store.search(q, k=10) for q in queries])
    t_tags = timed(
        lambda: [store.search(tags=[roles[i % len(roles)]], k=10) for i in range(n_queries)]
    )
    t_recent = timed(lambda: [store.search(k=10) for _ in range(max(1, n_queries // 10))])
    scan = LinearScan(docs)
    n_scan = max(1, n_queries // 20)
    t_scan = timed(lambda: [scan.top(q, 10) for q in queries[:n_scan]])
    store.close()
    return {
        "first search (builds index)": {"n": n_docs, "seconds": t_build},
        "search text (BM25, k=10)": {"n": n_queries, "per_s": rate(n_queries, t_text)},
        "search tags (k=10)": {"n": n_queries, "per_s": rate(n_queries, t_tags)},
        "search recent (k=10)": {
            "n": max(1, n_queries // 10),
            "per_s": rate(max(1, n_queries // 10), t_recent),
        },
        "baseline: linear word scan": {"n": n_scan, "per_s": rate(n_scan, t_scan)},
    }


class LinearScan:
    """The naive alternative: score every document by words shared with the query."""

    def __init__(self, docs: list[dict]) -> None:
        self.words = [set(tokenize(content_text(json.dumps(d)))) for d in docs]

    def top(self, query: str, k: int) -> list[int]:
        q = set(tokenize(query))
        scored = sorted(((len(q & w), i) for i, w in enumerate(self.words)), reverse=True)
        return [i for s, i in scored[:k] if s > 0]


def _write_adds(path: Path, docs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for seq, doc in enumerate(docs, 1):
            ev = _event(seq, "add", f"w-{seq}", tags=[doc["role"], doc["shift"]])
            fh.write(encode_event(ev, json.dumps(doc, separators=(",", ":"))))


def _event(seq: int, op: str, uid: str, **fields) -> dict:
    return {
        "schema": EVENT_SCHEMA,
        "seq": seq,
        "ts": 1.7e9 + seq / 1000,
        "op": op,
        "uid": uid,
        **fields,
    }


# ---- replay -------------------------------------------------------------------------------


def write_mixed_log(path: Path, n_events: int) -> dict[str, int]:
    """A valid log of ``n_events``: 70% add, 15% update, 10% replay, 5% retire.

    Written directly (a million ``add`` calls with fsync would take minutes); the replay
    that reads it is the store's own.
    """
    docs = profiles(min(n_events, 50_000))
    counts = dict.fromkeys(("add", "update", "replay", "retire"), 0)
    versions: list[int] = []
    replays: list[int] = []
    retired: set[int] = set()
    with open(path, "wb", buffering=1 << 20) as fh:
        for seq in range(1, n_events + 1):
            op = _pick_op(seq, versions, retired)
            counts[op] += 1
            fh.write(_mixed_line(seq, op, docs, versions, replays, retired))
    return counts


def _pick_op(seq: int, versions: list[int], retired: set[int]) -> str:
    r = (seq * 2654435761) % 100  # a fixed, well-spread sequence: the run is repeatable
    if not versions or r < 70:
        return "add"
    return "update" if r < 85 else "replay" if r < 95 else "retire"


def _mixed_line(seq, op, docs, versions, replays, retired) -> bytes:
    doc = docs[seq % len(docs)]
    if op == "add":
        versions.append(1)
        replays.append(0)
        ev = _event(seq, "add", f"t-{len(versions) - 1}", tags=[doc["role"]])
        return encode_event(ev, json.dumps(doc, separators=(",", ":")))
    target = (seq * 40503) % len(versions)
    while target in retired:
        target = (target + 1) % len(versions)
    uid = f"t-{target}"
    if op == "replay":
        replays[target] += 1
        return encode_event(_event(seq, "replay", uid, replay_count=replays[target]), None)
    if op == "retire" and len(retired) + 1 < len(versions):
        retired.add(target)
        return encode_event(_event(seq, "retire", uid), None)
    versions[target] += 1
    ev = _event(seq, "update", uid, tags=[doc["role"]], version=versions[target])
    return encode_event(ev, json.dumps(doc, separators=(",", ":")))


def bench_replay(work: Path, n_events: int) -> dict:
    directory = work / "replay"
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / LocalDirLog.TAIL
    t_write = timed(lambda: write_mixed_log(log_path, n_events))
    size = log_path.stat().st_size
    t_loads = timed(lambda: _loads_all(log_path))
    holder: dict = {}
    t_replay = timed(
        lambda: holder.update(store=PathwayStore(LocalDirLog(directory, compact_after=None)))
    )
    store = holder["store"]
    report = store.replay_report
    assert report.log_events == n_events and report.skipped == 0, report
    t_compact = timed(store.compact)
    store.close()
    t_snapshot = timed(
        lambda: holder.update(store=PathwayStore(LocalDirLog(directory, compact_after=None)))
    )
    assert holder["store"].replay_report.snapshot_events == n_events
    holder["store"].close()
    return {
        "events": n_events,
        "log_bytes": size,
        "write_log_seconds": t_write,
        "replay (log)": {"n": n_events, "seconds": t_replay, "per_s": rate(n_events, t_replay)},
        "baseline: json.loads each line": {
            "n": n_events,
            "seconds": t_loads,
            "per_s": rate(n_events, t_loads),
        },
        "compact": {"n": n_events, "seconds": t_compact},
        "replay (snapshot)": {
            "n": n_events,
            "seconds": t_snapshot,
            "per_s": rate(n_events, t_snapshot),
        },
    }


def _loads_all(path: Path) -> None:
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)


# ---- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=50_000, help="adds without fsync")
    parser.add_argument("--durable-adds", type=int, default=10_000, help="adds with fsync")
    parser.add_argument("--search-docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--replay-events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch directory")
    args = parser.parse_args()
    if args.quick:
        args.adds, args.durable_adds, args.search_docs = 2_000, 500, 5_000
        args.queries, args.replay_events = 200, 20_000
    work = Path(tempfile.mkdtemp(prefix="bench-pathway-", dir=args.workdir))
    try:
        results = {
            "add": bench_add(work, args.adds, args.durable_adds),
            "search": bench_search(work, args.search_docs, args.queries),
            "replay": bench_replay(work, args.replay_events),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # Process peak: the replay phase, holding every state of the 1M events, dominates it.
    results["replay"]["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    doc = {"benchmark": "pathway", "machine": _machine(), "args": _args(args), "results": results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    print_table(results)
    print(f"\nwrote {RESULTS}")


def print_table(results: dict) -> None:
    print(f"{'measurement':<40} {'n':>10} {'per second':>14} {'seconds':>10}")
    for section, rows in results.items():
        print(f"-- {section}")
        for name, row in rows.items():
            if isinstance(row, dict):
                per_s = f"{row['per_s']:,.0f}" if "per_s" in row else ""
                secs = f"{row['seconds']:.2f}" if "seconds" in row else ""
                print(f"{name:<40} {row['n']:>10,} {per_s:>14} {secs:>10}")
            else:
                print(
                    f"{name:<40} {row:>10,}" if isinstance(row, int) else f"{name:<40} {row:>10.2f}"
                )
    replay = results["replay"]
    ratio = replay["replay (log)"]["seconds"] / replay["baseline: json.loads each line"]["seconds"]
    print(f"\nreplay costs {ratio:.1f}x a bare json.loads of the same lines")


def _machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def _args(args: argparse.Namespace) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


if __name__ == "__main__":
    main()
