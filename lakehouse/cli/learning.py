"""``lakehouse drift`` and ``lakehouse distill``: the learning loop's routes from a shell.

    lakehouse distill materialize -t sessions
    lakehouse drift report verdict --a sessions:2026-11-27 --b sessions:2026-11-28
    lakehouse drift report embedding --a workers_october --b workers --column resume
    lakehouse drift save-baseline week47 sessions:2026-11-20..2026-11-26
    lakehouse drift report baseline --baseline week47 --b sessions:2026-11-28
    lakehouse distill replay --mode retrieval --tasks tasks.json

A window is a dataset name (``workers``), or evidence days ``TRANSFORM:START[..END]``
(``sessions:2026-11-27..2026-11-28``; one day when there is no ``..END``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from lakehouse.cli.output import emit_json, table
from lakehouse.cli.remote import AsJson, Token, Url, client, weighted
from lakehouse.errors import InvalidInput

DEFAULT_URL = "http://127.0.0.1:8000"
_DAYS = re.compile(r"^(\w+):(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")

drift_app = typer.Typer(help="Drift reports (embedding, verdict, playbook, baseline).")
distill_app = typer.Typer(help="Evidence from the service's logs, and replays.")
WindowOpt = Annotated[
    str | None, typer.Option(help="DATASET or TRANSFORM:START[..END] (evidence days)")
]


def window(spec: str) -> dict[str, Any]:
    """``workers`` → ``{"dataset": "workers"}``; ``sessions:2026-11-27..2026-11-28`` →
    ``{"transform": "sessions", "start": ..., "end": ...}`` (the server checks the rest)."""
    if ":" not in spec:
        return {"dataset": spec}
    match = _DAYS.match(spec)
    if match is None:
        raise InvalidInput(
            f"window {spec!r}: expected DATASET or TRANSFORM:YYYY-MM-DD[..YYYY-MM-DD]"
        )
    transform, start, end = match.groups()
    return {"transform": transform, "start": start, "end": end or start}


@drift_app.command("report")
def drift_report(
    kind: Annotated[str, typer.Argument(help="embedding, verdict, playbook or baseline")],
    a: WindowOpt = None,
    b: WindowOpt = None,
    baseline: Annotated[str | None, typer.Option(help="a saved baseline (kind baseline)")] = None,
    column: Annotated[str | None, typer.Option(help="text column (kind embedding)")] = None,
    sample: Annotated[int | None, typer.Option(help="rows embedded per side")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    corpus: Annotated[str | None, typer.Option(help="playbook corpus (kind playbook)")] = None,
    alpha: Annotated[float | None, typer.Option(help="threshold: p-value")] = None,
    permutations: Annotated[int | None, typer.Option(help="threshold: MMD relabellings")] = None,
    max_rate_drop: Annotated[float | None, typer.Option(help="threshold (baseline)")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """A drift report between windows A and B (or B and a saved baseline)."""
    thresholds = {k: v for k, v in (("alpha", alpha), ("permutations", permutations),
                  ("max_rate_drop", max_rate_drop)) if v is not None}  # fmt: skip
    options = {"baseline": baseline, "column": column, "sample": sample, "seed": seed,
               "corpus": corpus, "thresholds": thresholds or None}  # fmt: skip
    sides = {name: window(spec) for name, spec in (("a", a), ("b", b)) if spec is not None}
    with client(url, token) as c:
        report = c.drift.report(kind, **sides, **options)
    if as_json:
        return emit_json(report)
    sizes = ", ".join(f"{k} {v}" for k, v in report["sample_sizes"].items())
    table(f"{report['kind']} drift: {report['verdict']} ({sizes})", ["statistic", "value"],
          flatten(report["statistics"]))  # fmt: skip


@drift_app.command("save-baseline")
def drift_save_baseline(
    name: str,
    window_spec: Annotated[str, typer.Argument(metavar="WINDOW", help="TRANSFORM:START[..END]")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Save WINDOW's quality figures (rates, attempts, latency) as baseline NAME."""
    with client(url, token) as c:
        saved = c.drift.save_baseline(name, window(window_spec))
    _baseline_out(saved, as_json)


@drift_app.command("baseline")
def drift_baseline(
    name: str, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False
) -> None:
    """A saved baseline's figures."""
    with client(url, token) as c:
        _baseline_out(c.drift.baseline(name), as_json)


def _baseline_out(saved: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return emit_json(saved)
    title = f"baseline {saved['name']} (saved {saved['saved_at']})"
    table(title, ["figure", "value"], list(saved["figures"].items()))


@distill_app.command("materialize")
def distill_materialize(
    transform: Annotated[
        list[str] | None, typer.Option("--transform", "-t", help="one transform; repeat")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Turn the service's logs into evidence datasets (idempotent); prints the receipt."""
    with client(url, token) as c:
        receipt = c.distill.materialize(transform or None)
    _receipt_out(receipt, as_json)


def _receipt_out(receipt: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return emit_json(receipt)
    counts = ["in", "out", "duplicate", "malformed", "skipped"]
    rows = [(name, *(n.get(k) for k in counts)) for name, n in receipt["transforms"].items()]
    table(f"run {receipt['run_id']}: {receipt['rows_added']} rows added", ["transform", *counts],
          rows)  # fmt: skip
    outputs = [(o["dataset"], o["rows_added"], o["row_count"]) for o in receipt["outputs"]]
    if outputs:
        table("datasets", ["dataset", "rows added", "rows"], outputs)


@distill_app.command("receipt")
def distill_receipt(
    run_id: str, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False
) -> None:
    """A past materialize run's receipt."""
    with client(url, token) as c:
        receipt = c.distill.receipt(run_id)
    _receipt_out(receipt, as_json)


@distill_app.command("replay")
def distill_replay(
    session: Annotated[list[str] | None, typer.Option("--session", help="repeat")] = None,
    tasks: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="JSON list of tasks")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="a catalog dataset of tasks")] = None,
    mode: Annotated[str, typer.Option(help="full or retrieval")] = "full",
    corpus: Annotated[list[str] | None, typer.Option("--corpus", "-c", help="NAME[:W]")] = None,
    k: Annotated[int | None, typer.Option("-k")] = None,
    model: Annotated[str | None, typer.Option()] = None,
    playbook: Annotated[bool, typer.Option("--playbook/--no-playbook")] = True,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Replay recorded sessions or tasks (mode retrieval asks no model)."""
    corpora = [_corpus(spec) for spec in corpus] if corpus else None
    body = {"sessions": session or None, "tasks": _tasks(tasks), "dataset": dataset,
            "mode": mode, "corpora": corpora, "k": k, "model": model}  # fmt: skip
    body["use_playbook"] = playbook
    with client(url, token) as c:
        run = c.distill.replay(**body)
    if as_json:
        return emit_json(run)
    rows = [(r.get("task_id") or r.get("session_id"), r.get("model"), r.get("status"),
             r.get("hit_rank"), r.get("verdicts")) for r in run["rows"]]  # fmt: skip
    table(f"replay {run['run_id']} ({run['mode']})", ["task", "model", "status", "hit rank",
          "verdicts"], rows)  # fmt: skip
    summary = run["summary"]
    keys = list(next(iter(summary.values()), {}))
    table("summary", ["model", *keys], [(m, *(f.get(k) for k in keys)) for m, f in summary.items()])


@distill_app.command("compare")
def distill_compare(
    a: str, b: str, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False
) -> None:
    """Two replay runs' figures per model, and B - A."""
    with client(url, token) as c:
        result = c.distill.compare(a, b)
    if as_json:
        return emit_json(result)
    table(f"{a} -> {b}", ["statistic", "value"], flatten(result))


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as ``(dotted.key, value)`` rows; lists stay one cell."""
    if not isinstance(data, dict):
        return [(prefix, data)]
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return rows


def _corpus(spec: str) -> dict[str, Any]:
    named = weighted(spec)
    return {"name": named} if isinstance(named, str) else {"name": named[0], "weight": named[1]}


def _tasks(path: Path | None) -> list[Any] | None:
    if path is None:
        return None
    try:
        tasks = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--tasks {path}: not JSON ({exc})") from None
    if not isinstance(tasks, list):
        raise InvalidInput(f"--tasks {path}: expected a JSON list of tasks")
    return tasks
