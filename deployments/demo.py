"""``make run``: local Ray + the Serve app, a generated staffing set ingested over HTTP,
a few SQL queries, the URLs to look at, then serve until Ctrl-C.

    python -m deployments.demo --rows 20000
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path

from deployments.launch import serve_environment

DEMO_QUERIES = (
    (
        "workers by role",
        "SELECT role, count(*) AS n FROM workers GROUP BY role ORDER BY n DESC LIMIT 5",
    ),
    (
        "average rating by state",
        "SELECT state, round(avg(rating), 2) AS rating, count(*) AS n FROM workers "
        "GROUP BY state ORDER BY n DESC LIMIT 5",
    ),
    (
        "available forklift operators in TX",
        "SELECT worker_id, first_name, last_name, city, years_experience FROM workers "
        "WHERE role = 'Forklift Operator' AND state = 'TX' AND available "
        "ORDER BY years_experience DESC LIMIT 5",
    ),
)


def main() -> None:
    args = _parse()
    serve_environment()
    from lakehouse.settings import Settings

    settings = Settings()
    csv_path = settings.data_dir / "demo" / f"workers-{args.rows}.csv"
    if not args.serve_only:
        _generate(csv_path, args.rows)

    import httpx
    import ray

    from deployments.launch import start

    started = time.perf_counter()
    running = start()
    url = running.url
    print(f"Serve app up in {time.perf_counter() - started:.1f} s at {url}")
    headers = {"Authorization": f"Bearer {settings.tokens[0]}"} if settings.tokens else {}
    if not args.serve_only:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            _ingest(client, csv_path)
            for title, sql in DEMO_QUERIES:
                _show(client, title, sql)
            _embed_and_search(client, args.embed_rows)
            from deployments import demo_distill

            demo_distill.run(client, csv_path)
    print()
    print(f"API docs:       {url}/docs")
    print(f"Ray dashboard:  {running.dashboard_url or 'not started'}")
    print("Serving; press Ctrl-C to stop.")
    _wait_for_interrupt()
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def _generate(csv_path: Path, rows: int) -> None:
    from lakehouse.staffing import write_csv, write_queries

    if csv_path.exists():
        print(f"using {csv_path}")
        return
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_csv(csv_path, rows)
    write_queries(csv_path.with_suffix(".queries.json"))
    print(f"generated {rows} worker profiles in {time.perf_counter() - started:.1f} s")


def _ingest(client, csv_path: Path) -> None:
    started = time.perf_counter()
    with open(csv_path, "rb") as fh:
        resp = client.post("/v1/ingest", params={"name": "workers"}, files={"file": fh})
    resp.raise_for_status()
    manifest = resp.json()
    print(
        f"ingested dataset 'workers': {manifest['row_count']} rows, "
        f"{len(manifest['columns'])} columns, {time.perf_counter() - started:.1f} s "
        f"-> {manifest['object_key']}"
    )


def _show(client, title: str, sql: str) -> None:
    resp = client.post("/v1/sql", json={"sql": sql})
    resp.raise_for_status()
    body = resp.json()
    print(f"\n-- {title}\n{sql}")
    names = [c["name"] for c in body["columns"]]
    print("  " + " | ".join(names))
    for row in body["rows"]:
        print("  " + " | ".join(str(v) for v in row))


def _embed_and_search(client, rows: int) -> None:
    """Run the bulk embed job on the sample, then ask a few labelled staffing queries."""
    from actors.jobs.bulk_embed import JobArgs, run
    from lakehouse.staffing import LABELLED_QUERIES

    print(f"\n-- embedding up to {rows} worker profiles into corpus 'workers' (Ray Data job)")
    summary = run(JobArgs(dataset="workers", corpus="workers", limit=rows))
    print(
        f"embedded {summary['rows_embedded']} rows ({summary['rows_skipped_already_indexed']} "
        f"already indexed) in {summary['seconds']} s, {summary['rows_per_s']} rows/s"
    )
    for item in LABELLED_QUERIES[:: max(1, len(LABELLED_QUERIES) // 4)][:4]:
        body = {"text": item["query"], "k": 3}
        resp = client.post("/v1/vectors/corpora/workers/search", json=body)
        resp.raise_for_status()
        want = ", ".join(item["roles"]) or "none (out of domain)"
        print(f"\n-- {item['query']!r}  (expect: {want})")
        for hit in resp.json()["hits"]:
            meta = hit["metadata"]
            print(
                f"  {hit['score']:.3f}  {hit['id']}  {meta['role']}, {meta['city']} {meta['state']}"
            )


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Lakehouse demo")
    parser.add_argument("--rows", type=int, default=20_000, help="worker profiles to generate")
    parser.add_argument("--serve-only", action="store_true", help="serve, no demo data")
    parser.add_argument("--embed-rows", type=int, default=5_000, help="profiles to embed")
    return parser.parse_args()


if __name__ == "__main__":
    main()
