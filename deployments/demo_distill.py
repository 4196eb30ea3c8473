"""The learning-loop part of ``make run``, with no LLM: playbook records, a changed roster,
materialize, the evidence in SQL, and drift reports.

Steps: record a success in the playbook for a few labelled queries (the top hits of a plain
matrix search); ingest ``workers_next``, the roster with some of those workers removed and
one re-roled; ``POST /v1/distill/materialize``; count the evidence rows with SQL; then a
playbook drift report (``workers`` -> ``workers_next``, naming the changed successes and
those no longer in the top 10 for their query) and an embedding drift report between the
two rosters' resumes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

QUERIES = ("forklift operator for night shifts", "registered nurse with ACLS", "line cook")


def run(client: Any, csv_path: Path) -> None:
    print("\n-- the learning loop (no LLM needed)")
    placed = _record_successes(client)
    next_csv = _changed_roster(csv_path, placed)
    with open(next_csv, "rb") as fh:
        client.post(
            "/v1/ingest", params={"name": "workers_next"}, files={"file": fh}
        ).raise_for_status()
    receipt = _post(client, "/v1/distill/materialize", {})
    print(f"materialize: {receipt['rows_added']} evidence rows added; per transform:")
    for name, counts in receipt["transforms"].items():
        print(f"  {name:<18} {json.dumps(counts)}")
    for out in receipt["outputs"][:6]:
        print(f"  -> {out['dataset']}: {out['row_count']} rows")
    again = _post(client, "/v1/distill/materialize", {})
    seen = sum(c["duplicate"] for c in again["transforms"].values())
    new = {o["transform"]: o["rows_added"] for o in again["outputs"] if o["registered"]}
    # request events reach the observer shortly after each response, so the re-run may find
    # some that arrived since the first run: those, and only those, are new rows
    print(
        f"materialize again: {seen} rows already there, none added twice; "
        f"new since the first run: {json.dumps(new)}"
    )
    events = [o["dataset"] for o in receipt["outputs"] if o["transform"] == "observer_events"]
    if events:
        sql = (
            f"SELECT route, count(*) AS n FROM {events[-1]} GROUP BY route ORDER BY n DESC LIMIT 5"
        )
        rows = _post(client, "/v1/sql", {"sql": sql})["rows"]
        print(f"requests by route (from the evidence): {rows}")
    pair = {"a": {"dataset": "workers"}, "b": {"dataset": "workers_next"}}
    ranked = {"rank_corpus": "workers", "rank_k": 10}
    playbook = _post(client, "/v1/drift/report", {"kind": "playbook", **pair, **ranked})
    stats = playbook["statistics"]
    print(f"playbook drift: {playbook['verdict']}; removed {[e['id'] for e in stats['removed']]}, "
          f"changed role {[(e['id'], e['role_now']) for e in stats['changed_role']]}, "
          f"no longer in the top 10 {[e['id'] for e in stats['no_longer_ranks']]} "
          f"({playbook['sample_sizes']['queries_searched']} queries searched)")  # fmt: skip
    embedding = _post(client, "/v1/drift/report",
                      {"kind": "embedding", **pair, "column": "resume", "sample": 200})  # fmt: skip
    mmd = embedding["statistics"]["mmd2"]
    print(f"embedding drift workers -> workers_next: {embedding['verdict']} "
          f"(p = {mmd['p_value']:.3f}, centroid distance "
          f"{embedding['statistics']['centroid_cosine_distance']:.5f})")  # fmt: skip


def _record_successes(client: Any) -> list[str]:
    placed = []
    for query in QUERIES:
        body = {"query": query, "corpora": [{"name": "workers"}], "k": 2}
        ids = [h["id"] for h in _post(client, "/v1/matrix/search", body)["hits"]]
        record = {"query": query, "ids": ids, "outcome": "success"}
        _post(client, "/v1/matrix/playbooks/record", record)
        placed += ids
    return placed


def _changed_roster(csv_path: Path, placed: list[str]) -> Path:
    """The roster without the first placed worker, with the second placed one re-roled."""
    out = csv_path.with_name(csv_path.stem + "-next.csv")
    with open(csv_path, newline="") as src, open(out, "w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if placed and row["worker_id"] == placed[0]:
                continue
            if len(placed) > 1 and row["worker_id"] == placed[1]:
                row["role"] = "Dispatcher"
            writer.writerow(row)
    return out


def _post(client: Any, path: str, body: dict) -> Any:
    resp = client.post(path, json=body)
    resp.raise_for_status()
    return resp.json()
