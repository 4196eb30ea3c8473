"""The SQL engine: one DuckDB view per catalog dataset, hardened for untrusted SQL.

Hardening (DESIGN.md, "Security"; docs/sql.md): a single SELECT/WITH statement that names
only dataset views, its CTEs and a few generators (``lakehouse.sql.allowlist``); no file access
outside the dataset directory, no network, no extension install or load; configuration
locked after set-up; memory, thread and wall-time limits; a row cap inside the query plan and
a byte cap on the answer; error messages with host paths scrubbed. ``lakehouse.sql.sandbox``
runs this engine in child processes that bound its memory and its time from outside.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from lakehouse.errors import InvalidInput, QueryRejected, QueryTimeout, TooLarge
from lakehouse.sql.allowlist import QueryAllowlist
from lakehouse.sql.scrub import scrub
from lakehouse.sql.values import to_json_value
from lakehouse.sql.watchdog import Watchdog

if TYPE_CHECKING:  # the SQL worker process never needs the catalog (a second of imports)
    from lakehouse.catalog.manifest import Manifest

log = logging.getLogger(__name__)
_WATCHDOG = Watchdog()
_FETCH_ROWS = 512
_CHECKED_ENTRIES = 256  # accepted query texts remembered (at most 256 x 4 KiB)
_CHECKED_MAX_CHARS = 4096


@dataclass(frozen=True)
class SqlLimits:
    max_rows: int = 10_000
    timeout_s: float = 10.0
    memory_limit: str = "1GB"
    threads: int = 2
    max_chars: int = 100_000
    max_result_bytes: int = 8 * 1024 * 1024
    # datasets loaded into memory while their Parquet's uncompressed size fits, largest
    # last (0: every dataset is read from its Parquet file at each query)
    cache_bytes: int = 128 * 1024 * 1024


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
    """Untrusted read-only SQL over Parquet files under ``allowed_dirs``.

    View paths may be relative (the sandbox's worker runs in the object root, so no host path
    is in any view definition). Datasets that fit ``limits.cache_bytes`` together are loaded
    into in-memory tables at ``sync`` (the catalog's Parquet never changes under a name
    without a new path, so a table is current until the next sync repoints it): a point
    lookup then skips decoding the file each time (docs/benchmarks.md). The rest stay views.
    """

    def __init__(
        self, allowed_dirs: Iterable[Path | str], temp_dir: Path, limits: SqlLimits
    ) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._views: dict[str, str] = {}
        self._cached: dict[str, int] = {}  # name -> uncompressed bytes, the in-memory tables
        self._con = _hardened_connection([str(d) for d in allowed_dirs], temp_dir, limits)
        self._allowlist = QueryAllowlist(self._con)
        self._accepted: OrderedDict[str, str] = OrderedDict()  # sql -> wrapped, these views

    def sync(self, views: dict[str, Path | str]) -> None:
        """Make the datasets exactly ``{name: parquet_path}``: create, repoint or drop."""
        wanted = {name: str(path) for name, path in views.items()}
        with self._lock:
            if wanted != self._views:
                self._accepted.clear()  # what a query may name has changed
            for name in [n for n, path in self._views.items() if wanted.get(n) != path]:
                self._drop(name)
            new = {name: path for name, path in wanted.items() if name not in self._views}
            sizes = {name: self._uncompressed_bytes(path) for name, path in new.items()}
            room = self.limits.cache_bytes - sum(self._cached.values())
            for name in sorted(new, key=lambda n: (sizes[n], n)):  # the most datasets fit
                room -= self._create(name, new[name], sizes[name], room)

    def cached(self) -> dict[str, int]:
        """The datasets held in memory, with their Parquet's uncompressed size in bytes."""
        with self._lock:
            return dict(self._cached)

    def _create(self, name: str, path: str, size: int, room: int) -> int:
        """A table of ``path`` if ``size`` fits in ``room`` (else a view); the bytes taken."""
        literal = path.replace("'", "''")
        select = f"SELECT * FROM read_parquet('{literal}')"
        if 0 <= size <= room:
            try:
                self._con.execute(f'CREATE TABLE "{name}" AS {select}')
                self._views[name], self._cached[name] = path, size
                return size
            except duckdb.Error as exc:  # out of memory, say: the file is still readable
                log.warning("dataset %s stays on disk: %s", name, _first_line(exc))
                self._con.execute(f'DROP TABLE IF EXISTS "{name}"')
        # a file DuckDB cannot open raises here, and is not recorded: the next sync tries again
        self._con.execute(f'CREATE VIEW "{name}" AS {select}')
        self._views[name] = path
        return 0

    def _drop(self, name: str) -> None:
        kind = "TABLE" if self._cached.pop(name, None) is not None else "VIEW"
        self._con.execute(f'DROP {kind} IF EXISTS "{name}"')
        del self._views[name]

    def _uncompressed_bytes(self, path: str) -> int:
        """The Parquet file's column chunks, uncompressed (-1 when caching is off or the
        footer cannot be read: the dataset is then only a view)."""
        if self.limits.cache_bytes <= 0:
            return -1
        literal = path.replace("'", "''")
        sql = f"SELECT sum(total_uncompressed_size) FROM parquet_metadata('{literal}')"
        try:
            found = self._con.execute(sql).fetchone()
        except duckdb.Error:
            return -1
        return int(found[0]) if found and found[0] is not None else 0

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
        """``_checked`` of ``sql``, remembered while the views stay the same.

        The checks cost three DuckDB calls (about 1 ms) and give the same answer for the same
        text over the same views, so a repeated query (a dashboard's, a client's) skips them.
        Only accepted queries are remembered: a refused one is checked again each time.
        """
        if not isinstance(sql, str) or len(sql) > _CHECKED_MAX_CHARS:
            return self._checked(sql)
        with self._lock:
            wrapped = self._accepted.get(sql)
            if wrapped is not None:
                self._accepted.move_to_end(sql)
                return wrapped
        wrapped = self._checked(sql)
        with self._lock:
            self._accepted[sql] = wrapped
            while len(self._accepted) > _CHECKED_ENTRIES:
                self._accepted.popitem(last=False)
        return wrapped

    def _checked(self, sql: str) -> str:
        """Check ``sql`` is exactly one allowed SELECT and wrap it so the row cap is in the plan."""
        if not isinstance(sql, str) or not sql.strip():
            raise InvalidInput("sql is empty", field="sql")
        if len(sql) > self.limits.max_chars:
            raise InvalidInput(f"sql is longer than {self.limits.max_chars} characters")
        statement = self._one_select(sql)
        body = statement.query.rstrip().rstrip(";")
        self._allowlist.check(body, set(self._views))
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
            rows, truncated = self._fetch(cursor)
        except duckdb.InterruptException:
            raise
        except duckdb.CatalogException as exc:
            raise QueryRejected(_first_line(exc), kind="catalog") from exc
        except (duckdb.PermissionException, duckdb.BinderException) as exc:
            raise QueryRejected(_first_line(exc)) from exc
        except duckdb.OutOfMemoryException as exc:
            raise TooLarge(
                f"query needs more than the SQL memory limit ({self.limits.memory_limit})"
            ) from exc
        except duckdb.Error as exc:
            raise InvalidInput(f"query failed: {_first_line(exc)}") from exc
        return QueryResult(columns=columns, rows=rows, row_count=len(rows), truncated=truncated)

    def _fetch(self, cursor: duckdb.DuckDBPyConnection) -> tuple[list[list[Any]], bool]:
        """Rows up to the row cap and the byte cap; True when either cut the answer short."""
        rows: list[list[Any]] = []
        size = 0
        while batch := cursor.fetchmany(_FETCH_ROWS):
            for raw in batch:
                row = [to_json_value(v) for v in raw]
                size += _json_size(row)
                if len(rows) == self.limits.max_rows or size > self.limits.max_result_bytes:
                    if not rows:
                        raise TooLarge(
                            f"the first row alone is larger than the "
                            f"{self.limits.max_result_bytes} byte answer cap",
                            limit_bytes=self.limits.max_result_bytes,
                        )
                    return rows, True
                rows.append(row)
        return rows, False

    def close(self) -> None:
        self._con.close()


def views_for(manifests: Iterable[Manifest], local_path: Any) -> dict[str, Path]:
    """``{dataset name: local Parquet path}`` for ``SqlEngine.sync``."""
    return {m.name: local_path(m.object_key) for m in manifests}


def _hardened_connection(
    allowed_dirs: list[str], temp_dir: Path, limits: SqlLimits
) -> duckdb.DuckDBPyConnection:
    temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "python_enable_replacements": False,
            "threads": limits.threads,
            "memory_limit": limits.memory_limit,
            "temp_directory": str(temp_dir),
            "max_temp_directory_size": "2GB",
            # nothing of the process's home (often /root) in any setting or message
            "home_directory": str(temp_dir),
            "extension_directory": str(temp_dir / "extensions"),
            "secret_directory": str(temp_dir / "secrets"),
        },
    )
    dirs = ", ".join("'" + d.rstrip("/").replace("'", "''") + "/'" for d in allowed_dirs)
    con.execute(f"SET allowed_directories = [{dirs}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return scrub(text.splitlines()[0][:300]) if text else type(exc).__name__


def _json_size(row: list[Any]) -> int:
    try:
        return len(orjson.dumps(row)) + 1
    except TypeError:  # an integer past 64 bits: orjson refuses it, the response encoder won't
        return len(str(row)) + 1
