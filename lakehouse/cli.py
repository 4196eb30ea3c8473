"""The ``lakehouse`` command line: data generation and local conversions (no Ray needed).

lakehouse generate --rows 500000 --out workers.csv   # + workers.queries.json
lakehouse to-parquet workers.csv workers.parquet
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lakehouse.errors import LakehouseError
from lakehouse.ingest import csv_to_parquet
from lakehouse.staffing import write_csv, write_queries


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except LakehouseError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def _generate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = write_csv(out, args.rows, seed=args.seed)
    queries = Path(args.queries) if args.queries else out.with_suffix(".queries.json")
    count = write_queries(queries)
    elapsed = time.perf_counter() - started
    print(f"wrote {rows} worker profiles to {out} and {count} labelled queries to {queries}")
    print(f"{elapsed:.2f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s)")
    return 0


def _to_parquet(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    result = csv_to_parquet(Path(args.csv), Path(args.parquet), max_bytes=args.max_bytes)
    elapsed = time.perf_counter() - started
    print(f"{result.row_count} rows, {len(result.columns)} columns in {elapsed:.2f} s")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True)
    gen = sub.add_parser("generate", help="write synthetic worker profiles as CSV")
    gen.add_argument("--rows", type=_non_negative, default=500_000)
    gen.add_argument("--out", required=True, help="CSV file to write")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--queries", help="labelled queries JSON (default: OUT.queries.json)")
    gen.set_defaults(func=_generate)
    conv = sub.add_parser("to-parquet", help="convert a CSV to Parquet with the ingest rules")
    conv.add_argument("csv")
    conv.add_argument("parquet")
    conv.add_argument("--max-bytes", type=int, default=1 << 40)
    conv.set_defaults(func=_to_parquet)
    return parser


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


if __name__ == "__main__":
    raise SystemExit(main())
