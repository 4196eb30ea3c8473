"""How the CLI answers: rich tables for people, ``--json`` for scripts, exit codes by error.

Exit codes (stable, for scripts):

    0  ok
    1  anything unexpected (a 500, a bug)
    2  bad input or usage (400, 413, 422; a malformed CSV)
    3  not allowed (401, 403)
    4  not found (404)
    5  conflict (409)
    6  the server is unreachable, busy or too slow (connection refused, 408, 502-504)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from lakehouse import errors

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_SERVER = range(7)
_BY_CLASS: tuple[tuple[type[errors.LakehouseError], int], ...] = (
    (errors.InvalidInput, EXIT_INPUT),
    (errors.TooLarge, EXIT_INPUT),
    (errors.Unprocessable, EXIT_INPUT),
    (errors.Unauthorized, EXIT_AUTH),
    (errors.Forbidden, EXIT_AUTH),
    (errors.NotFound, EXIT_NOT_FOUND),
    (errors.Conflict, EXIT_CONFLICT),
    (errors.QueryTimeout, EXIT_SERVER),
    (errors.BadGateway, EXIT_SERVER),
    (errors.Unavailable, EXIT_SERVER),
    (errors.GatewayTimeout, EXIT_SERVER),
)


def exit_code(exc: BaseException) -> int:
    """The exit code for an error (see the module docstring)."""
    if isinstance(exc, httpx.TransportError):
        return EXIT_SERVER
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return code
    return EXIT_INTERNAL


def report(exc: BaseException) -> int:
    """Say what went wrong on stderr; return the exit code."""
    if isinstance(exc, errors.LakehouseError):
        message = f"{exc.code}: {exc.message}"
        trace = getattr(exc, "trace_id", None)
        if trace:
            message += f" (trace {trace})"
        message += _problems(getattr(exc, "details", None))
    elif isinstance(exc, httpx.TransportError):
        message = f"cannot reach the server: {exc}"
    else:
        message = f"{type(exc).__name__}: {exc}"
    print(f"error: {message}", file=sys.stderr)
    return exit_code(exc)


def _problems(details: Any) -> str:
    """A 400's per-field reasons (``[{"field", "reason"}]``), one indented line each."""
    if not isinstance(details, list):
        return ""
    lines = [f"\n  {d.get('field')}: {d.get('reason')}" for d in details if isinstance(d, dict)]
    return "".join(lines[:10])


def stdout() -> Console:
    return Console(soft_wrap=False)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as a table (cells as text; objects as compact JSON)."""
    grid = Table(title=title, show_lines=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(cell_text(cell) for cell in row))
    stdout().print(grid)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def brief(metadata: dict[str, Any] | None) -> str:
    """Metadata on one line: string values as they are, others as ``key=value``."""
    if not metadata:
        return ""
    parts = [v if isinstance(v, str) else f"{k}={v}" for k, v in metadata.items()]
    return " · ".join(parts)
