"""Commands that need no server: synthetic data and local conversions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lakehouse.ingest import csv_to_parquet
from lakehouse.staffing import write_csv, write_queries

app = typer.Typer()


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="CSV file to write")],
    rows: Annotated[int, typer.Option(min=0, help="worker profiles")] = 500_000,
    seed: Annotated[int, typer.Option()] = 7,
    queries: Annotated[
        Path | None, typer.Option(help="labelled queries JSON (default: OUT.queries.json)")
    ] = None,
) -> None:
    """Write synthetic worker profiles as CSV (plus labelled queries)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    written = write_csv(out, rows, seed=seed)
    queries = queries or out.with_suffix(".queries.json")
    count = write_queries(queries)
    elapsed = time.perf_counter() - started
    print(f"wrote {written} worker profiles to {out} and {count} labelled queries to {queries}")
    print(f"{elapsed:.2f} s ({written / max(elapsed, 1e-9):,.0f} rows/s)")


@app.command("to-parquet")
def to_parquet(
    csv: Path,
    parquet: Path,
    max_bytes: Annotated[int, typer.Option(min=1)] = 1 << 40,
) -> None:
    """Convert a CSV to Parquet with the ingest rules."""
    started = time.perf_counter()
    result = csv_to_parquet(csv, parquet, max_bytes=max_bytes)
    elapsed = time.perf_counter() - started
    print(f"{result.row_count} rows, {len(result.columns)} columns in {elapsed:.2f} s")
