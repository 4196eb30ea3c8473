"""Commands that talk to a running server through ``lakehouse.client``.

The server is ``--url`` (``LAKEHOUSE_URL``, default http://127.0.0.1:8000) and the bearer
token ``--token`` (``LAKEHOUSE_TOKEN``). Every command prints a table, or JSON with ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from lakehouse.cli.output import brief, emit_json, table
from lakehouse.client import Client
from lakehouse.errors import InvalidInput

Url = Annotated[str, typer.Option("--url", envvar="LAKEHOUSE_URL", help="the server")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="LAKEHOUSE_TOKEN", help="bearer token")
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
DEFAULT_URL = "http://127.0.0.1:8000"

app = typer.Typer()
matrix_app = typer.Typer(help="Matrix search over several corpora, and its playbook.")
app.add_typer(matrix_app, name="matrix")


def client(url: str, token: str | None) -> Client:
    return Client(url, token=token or None)


@app.command()
def sql(query: str, url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """Run one read-only SELECT."""
    with client(url, token) as c:
        result = c.sql.query(query)
    if as_json:
        return emit_json(result)
    more = " (truncated)" if result["truncated"] else ""
    table(
        f"{result['row_count']} rows{more}", [c["name"] for c in result["columns"]], result["rows"]
    )


@app.command()
def datasets(url: Url = DEFAULT_URL, token: Token = None, as_json: AsJson = False) -> None:
    """List datasets."""
    with client(url, token) as c:
        found = c.catalog.datasets()
    if as_json:
        return emit_json(found)
    rows = [(d["name"], d["row_count"], len(d["columns"]), d["updated_at"]) for d in found]
    table("datasets", ["name", "rows", "columns", "updated"], rows)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    name: Annotated[str, typer.Option("--name", help="dataset (and SQL view) name")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Upload a CSV as dataset NAME (a progress bar on stderr)."""
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=as_json) as bar:
        task = bar.add_task("upload", total=file.stat().st_size)
        with client(url, token) as c:
            manifest = c.ingest.csv(
                name, file, progress=lambda sent, _: bar.update(task, completed=sent)
            )
    if as_json:
        return emit_json(manifest)
    row = (
        manifest["name"],
        manifest["row_count"],
        len(manifest["columns"]),
        manifest["fingerprint"][:16],
    )
    table("ingested", ["name", "rows", "columns", "fingerprint"], [row])


@app.command()
def search(
    corpus: str,
    text: str,
    k: Annotated[int, typer.Option("-k", min=1, max=1000)] = 10,
    filter: Annotated[
        str | None, typer.Option(help='metadata filter, JSON: {"state": "TX"}')
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The k nearest items of one corpus to TEXT."""
    with client(url, token) as c:
        found = c.vectors.search(corpus, text=text, k=k, filter=_json_option("filter", filter))
    if as_json:
        return emit_json(found)
    rows = [(h["id"], h["score"], brief(h.get("metadata"))) for h in found["hits"]]
    table(f"{corpus}: {len(rows)} hits", ["id", "score", "metadata"], rows)


@matrix_app.command("search")
def matrix_search(
    query: str,
    corpus: Annotated[
        list[str], typer.Option("--corpus", "-c", help="NAME or NAME:WEIGHT; repeat")
    ],
    k: Annotated[int, typer.Option("-k", min=1, max=1000)] = 10,
    playbook: Annotated[bool, typer.Option("--playbook/--no-playbook")] = True,
    sql_filter: Annotated[str | None, typer.Option(help="SQL predicate over the roster")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """QUERY over several corpora; each hit with its explanation and playbook boost."""
    options: dict[str, Any] = {"use_playbook": playbook}
    if sql_filter:
        options["sql_filter"] = sql_filter
    with client(url, token) as c:
        answer = c.matrix.search([weighted(c) for c in corpus], query=query, k=k, **options)
    if as_json:
        return emit_json(answer)
    rows = [_matrix_row(i, hit) for i, hit in enumerate(answer["hits"])]
    title = f"{len(rows)} hits" + (" (low confidence)" if answer.get("low_confidence") else "")
    table(title, ["#", "id", "score", "explanation", "boost", "metadata"], rows)


@matrix_app.command("record")
def matrix_record(
    query: str,
    ids: Annotated[list[str], typer.Option("--id", help="a worker id; repeat")],
    outcome: Annotated[str, typer.Option(help="success or failure")],
    weight: Annotated[float, typer.Option(min=0, max=10)] = 1.0,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Record that IDS served QUERY well (success) or badly (failure)."""
    with client(url, token) as c:
        recorded = c.playbooks.record(query, ids, outcome, weight)
    if as_json:
        return emit_json(recorded)
    rows = [
        (r["record_id"], r["query"], ", ".join(r["ids"]), r["outcome"], r["who"]) for r in recorded
    ]
    table("recorded", ["record", "query", "ids", "outcome", "who"], rows)


@matrix_app.command("playbook")
def matrix_playbook(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Recorded outcomes, newest first (the audit)."""
    with client(url, token) as c:
        records = c.playbooks.list(limit)
    if as_json:
        return emit_json(records)
    rows = [
        (r["when"], r["query"], ", ".join(r["ids"]), r["outcome"], r["weight"], r["who"])
        for r in records
    ]
    table("playbook", ["when", "query", "ids", "outcome", "weight", "who"], rows)


def weighted(spec: str) -> str | tuple[str, float]:
    name, sep, weight = spec.partition(":")
    if not sep:
        return name
    try:
        return name, float(weight)
    except ValueError:
        raise InvalidInput(f"--corpus {spec!r}: the weight after ':' must be a number") from None


def _matrix_row(index: int, hit: dict[str, Any]) -> tuple[Any, ...]:
    x = hit["explanation"]
    meta = brief(hit.get("metadata"))
    return index + 1, hit["id"], hit["score"], _explain(x), x["playbook_boost"], meta


def _explain(x: dict[str, Any]) -> str:
    parts = [f"{c['corpus']} raw {c['raw_score']:.3f} #{c['rank']}" for c in x["corpora"]]
    return "; ".join(parts)


def _json_option(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--{name} is not JSON: {exc.msg}") from None
