"""The SQL engine: one DuckDB view per catalog dataset, hardened for untrusted SQL.

Hardening (DESIGN.md, "Security"): a single SELECT/WITH statement; no file access outside
the dataset directory, no network, no extension install or load (autoload off, external
access off); configuration locked after set-up; memory, thread and wall-time limits; a row
cap applied inside the query plan.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from lakehouse.catalog.manifest import Manifest
from lakehouse.errors import InvalidInput, QueryRejected, QueryTimeout
from lakehouse.sql.values import to_json_value
from lakehouse.sql.watchdog import Watchdog

_WATCHDOG = Watchdog()


@dataclass(frozen=True)
class SqlLimits:
    max_rows: int = 10_000
    timeout_s: float = 10.0
    memory_limit: str = "1GB"
    threads: int = 2
    max_chars: int = 100_000


@dataclass(frozen=True)
class QueryResult:
    columns: list[dict[str, str]]
    rows: list[list[Any]]
    row_count: int
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "row_count": self.row_count,
            "truncated": self.truncated,
        }


class SqlEngine:
    """Untrusted read-only SQL over Parquet files under ``allowed_dirs``."""

    def __init__(self, allowed_dirs: Iterable[Path], temp_dir: Path, limits: SqlLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._views: dict[str, str] = {}
        self._con = _hardened_connection([Path(d) for d in allowed_dirs], temp_dir, limits)

    def sync(self, views: dict[str, Path]) -> None:
        """Make the views exactly ``{name: parquet_path}``: create, repoint or drop."""
        with self._lock:
            for name in set(self._views) - set(views):
                self._con.execute(f'DROP VIEW IF EXISTS "{name}"')
                del self._views[name]
            for name, path in views.items():
                if self._views.get(name) != str(path):
                    literal = str(path).replace("'", "''")
                    source = f"read_parquet('{literal}')"
                    self._con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {source}')
                    self._views[name] = str(path)

    def query(self, sql: str) -> QueryResult:
        """Run one SELECT; ``QueryRejected`` for anything else, ``QueryTimeout`` past the limit."""
        bounded = self._bounded(sql)
        cursor = self._con.cursor()
        token = _WATCHDOG.watch(cursor, self.limits.timeout_s)
        try:
            return self._run(cursor, bounded)
        except duckdb.InterruptException:
            if _WATCHDOG.release(token):
                raise QueryTimeout(
                    f"query cancelled after the {self.limits.timeout_s:g} s time limit",
                    limit_s=self.limits.timeout_s,
                ) from None
            raise
        finally:
            _WATCHDOG.release(token)
            cursor.close()

    def _bounded(self, sql: str) -> str:
        """Check ``sql`` is exactly one SELECT and wrap it so the row cap is in the plan."""
        if not isinstance(sql, str) or not sql.strip():
            raise InvalidInput("sql is empty", field="sql")
        if len(sql) > self.limits.max_chars:
            raise InvalidInput(f"sql is longer than {self.limits.max_chars} characters")
        statement = self._one_select(sql)
        body = statement.query.rstrip().rstrip(";")
        # The newline keeps a trailing "-- comment" from swallowing the parenthesis.
        wrapped = f"SELECT * FROM (\n{body}\n) LIMIT {self.limits.max_rows + 1}"
        self._one_select(wrapped)
        return wrapped

    def _one_select(self, sql: str) -> Any:
        try:
            statements = self._con.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryRejected(f"SQL does not parse: {_first_line(exc)}") from exc
        if len(statements) != 1:
            raise QueryRejected("exactly one statement is allowed")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise QueryRejected(
                f"only SELECT (and WITH ... SELECT) is allowed, got {statements[0].type.name}"
            )
        return statements[0]

    def _run(self, cursor: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
        try:
            cursor.execute(sql)
            columns = [{"name": d[0], "type": str(d[1])} for d in cursor.description]
            raw = cursor.fetchall()
        except duckdb.InterruptException:
            raise
        except duckdb.CatalogException as exc:
            raise QueryRejected(_first_line(exc), kind="catalog") from exc
        except (duckdb.PermissionException, duckdb.BinderException) as exc:
            raise QueryRejected(_first_line(exc)) from exc
        except duckdb.Error as exc:
            raise InvalidInput(f"query failed: {_first_line(exc)}") from exc
        truncated = len(raw) > self.limits.max_rows
        rows = [[to_json_value(v) for v in row] for row in raw[: self.limits.max_rows]]
        return QueryResult(columns=columns, rows=rows, row_count=len(rows), truncated=truncated)

    def close(self) -> None:
        self._con.close()


def views_for(manifests: Iterable[Manifest], local_path: Any) -> dict[str, Path]:
    """``{dataset name: local Parquet path}`` for ``SqlEngine.sync``."""
    return {m.name: local_path(m.object_key) for m in manifests}


def _hardened_connection(
    allowed_dirs: list[Path], temp_dir: Path, limits: SqlLimits
) -> duckdb.DuckDBPyConnection:
    temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "threads": limits.threads,
            "memory_limit": limits.memory_limit,
            "temp_directory": str(temp_dir),
            "max_temp_directory_size": "2GB",
        },
    )
    dirs = ", ".join("'" + str(d).rstrip("/").replace("'", "''") + "/'" for d in allowed_dirs)
    con.execute(f"SET allowed_directories = [{dirs}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
