"""Fill validations per second against the staffing roster (issue 6).

    .venv/bin/python bench/validate.py [--rows 500000] [--candidates 10] [--seconds 3]
    .venv/bin/python bench/validate.py --quick          # 20,000 rows, 1 s per case

The same seeded fills (``--candidates`` each, a fifth with a phantom id slipped in) are
validated with each roster, and every roster must give the same verdicts:

- ``parquet_indexed``: ``ParquetRoster``, the one the service uses (an in-memory DuckDB
  table with an ART index, one parameterised ``IN (...)`` query per fill), on one thread
  and on ``--threads`` threads;
- ``per_id_queries``: the same index, but one query per candidate id (naive batching);
- ``scan_per_call``: ``read_parquet`` of the file on every fill, what the issue forbids;
- ``in_memory_dict``: ``InMemoryRoster``, every row as a Python dict: the ceiling, at a
  memory cost shown in the RSS column.

Writes bench/results/validate.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from lakehouse.guard import InMemoryRoster, ParquetRoster, Validator  # noqa: E402
from lakehouse.guard.roster import OPTIONAL_COLUMNS, REQUIRED_COLUMNS  # noqa: E402
from lakehouse.staffing import generate_batches  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench"
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
N_FILLS = 2_000


def main() -> None:
    args = _parse()
    path = _roster_file(args.rows)
    fills = _fills(path, args.candidates)
    cases: dict[str, Any] = {}
    parquet = _timed_build("parquet_indexed", lambda: ParquetRoster(path), cases)
    expected = _verdicts(Validator(parquet), fills)
    cases["parquet_indexed"] |= _measure(Validator(parquet), fills, args.seconds, 1, expected)
    name = f"parquet_indexed_{args.threads}_threads"
    cases[name] = _measure(Validator(parquet), fills, args.seconds, args.threads, expected)
    cases["per_id_queries"] = _measure(
        Validator(PerIdRoster(parquet)), fills, args.seconds, 1, expected
    )
    naive = ScanRoster(path)
    cases["scan_per_call"] = _measure(Validator(naive), fills, args.seconds, 1, expected)
    memory = _timed_build(
        "in_memory_dict",
        lambda: InMemoryRoster.from_batches(
            pq.read_table(path, columns=list(COLUMNS)).to_batches()
        ),
        cases,
    )
    cases["in_memory_dict"] |= _measure(Validator(memory), fills, args.seconds, 1, expected)
    result = _summary(args, path, fills, expected, cases)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "validate.json").write_text(json.dumps(result, indent=2) + "\n")
    _print(result)
    print(f"\nwrote {RESULTS / 'validate.json'}")


class PerIdRoster:
    """Baseline: the same index, one query per id (what skipping the batch costs)."""

    def __init__(self, inner: ParquetRoster) -> None:
        self.inner = inner

    def lookup(self, worker_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for wid in worker_ids:
            found |= self.inner.lookup([wid])
        return found


class ScanRoster:
    """Baseline: reads the Parquet file on every lookup (a file scan per call)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._con = duckdb.connect()
        self._lock = threading.Lock()

    def lookup(self, worker_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        marks = ", ".join("?" * len(worker_ids))
        sql = f"SELECT {', '.join(COLUMNS)} FROM read_parquet(?) WHERE worker_id IN ({marks})"
        with self._lock:
            rows = self._con.execute(sql, [self.path, *worker_ids]).fetchall()
        return {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in rows}


def _roster_file(rows: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"workers-{rows}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".parquet.tmp")
        batches = generate_batches(rows)
        first = next(batches)
        with pq.ParquetWriter(tmp, first.schema) as writer:
            writer.write_batch(first)
            for batch in batches:
                writer.write_batch(batch)
        tmp.replace(path)
    return path


def _fills(path: Path, k: int) -> list[dict[str, Any]]:
    """Seeded fills of ``k`` available workers sharing role and city; 1 in 5 with a phantom."""
    table = pq.read_table(path, columns=["worker_id", "role", "city", "state", "available"])
    table = table.filter(pc.field("available"))
    groups = table.group_by(["role", "city", "state"]).aggregate([("worker_id", "list")])
    groups = [g for g in groups.to_pylist() if len(g["worker_id_list"]) >= k]
    rng = random.Random(6)
    fills = []
    for _ in range(N_FILLS):
        g = rng.choice(groups)
        ids = rng.sample(g["worker_id_list"], k)
        if rng.random() < 0.2:
            ids[rng.randrange(k)] = f"W{rng.randrange(10_000_000, 99_999_999)}"
        fills.append(
            {
                "role": g["role"],
                "location": f"{g['city']}, {g['state']}",
                "target_count": k,
                "candidates": [{"worker_id": i} for i in ids],
            }
        )
    return fills


def _timed_build(name: str, build: Callable[[], Any], cases: dict[str, Any]) -> Any:
    rss = psutil.Process().memory_info().rss
    started = time.perf_counter()
    roster = build()
    cases[name] = {
        "load_seconds": round(time.perf_counter() - started, 3),
        "rss_delta_mib": round((psutil.Process().memory_info().rss - rss) / 2**20, 1),
    }
    return roster


def _verdicts(validator: Validator, fills: list[dict[str, Any]]) -> list[bool]:
    return [validator.validate("fill", f).valid for f in fills]


def _measure(
    validator: Validator, fills: list, seconds: float, threads: int, expected: list[bool]
) -> dict[str, Any]:
    """Validations/s over ``seconds`` on ``threads`` threads, with per-call latency."""
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        parts = list(
            pool.map(lambda t: _worker(validator, fills, deadline, t, expected), range(threads))
        )
    elapsed = time.perf_counter() - started
    latencies = sorted(x for p in parts for x in p)
    return {
        "threads": threads,
        "validations": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
    }


def _worker(
    validator: Validator, fills: list, deadline: float, offset: int, expected: list[bool]
) -> list[float]:
    latencies = []
    i = offset * 97
    while time.perf_counter() < deadline:
        n = i % len(fills)
        t0 = time.perf_counter()
        valid = validator.validate("fill", fills[n]).valid
        latencies.append(time.perf_counter() - t0)
        if valid != expected[n]:
            raise AssertionError(f"roster disagrees on fill {n}")
        i += 1
    return latencies


def _summary(
    args, path: Path, fills, expected: list[bool], cases: dict[str, Any]
) -> dict[str, Any]:
    base = cases["scan_per_call"]["per_second"]
    for case in cases.values():
        case["vs_scan_per_call"] = round(case["per_second"] / base, 1)
    return {
        "rows": args.rows,
        "candidates_per_fill": args.candidates,
        "distinct_fills": len(fills),
        "valid_fraction": round(sum(expected) / len(expected), 3),
        "parquet_mib": round(path.stat().st_size / 2**20, 1),
        "seconds_per_case": args.seconds,
        "cpus": psutil.cpu_count(),
        "versions": {"duckdb": duckdb.__version__, "pyarrow": pa.__version__},
        "cases": cases,
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"\nFill validation, {result['rows']:,}-row roster, {result['candidates_per_fill']} "
        f"candidates per fill, {result['valid_fraction']:.0%} valid, {result['cpus']} CPUs"
    )
    head = f"{'roster':30}{'threads':>8}{'fills/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(head + f"{'x scan':>8}{'load s':>8}{'RSS MiB':>9}")
    for name, c in result["cases"].items():
        load = c.get("load_seconds", "")
        rss = c.get("rss_delta_mib", "")
        print(
            f"{name:30}{c['threads']:>8}{c['per_second']:>10,.0f}{c['p50_ms']:>9}"
            f"{c['p99_ms']:>9}{c['vs_scan_per_call']:>8}{load:>8}{rss:>9}"
        )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=psutil.cpu_count() or 2)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 1 s per case")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.seconds = 20_000, 1.0
    return args


if __name__ == "__main__":
    main()
