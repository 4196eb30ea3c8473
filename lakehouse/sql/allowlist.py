"""What an untrusted query may name: the dataset views, its own CTEs and a few generators.

DuckDB's own parser (``json_serialize_sql``) gives the tree; every table reference and every
function call in it, at any depth (subqueries, CTEs, lambdas, PIVOT), is checked:

- a table is a dataset view or a CTE of the query, unqualified (no ``information_schema``,
  ``pg_catalog``, ``duckdb_*`` system views, no ``'file.csv'`` replacement scans);
- a table function is one of ``range``, ``generate_series``, ``unnest`` (no ``read_*``,
  ``glob``, ``query``, ``duckdb_settings()``, ``duckdb_secrets()``, ``duckdb_extensions()``...);
- a scalar function is not one that reports the engine's state (``current_setting``,
  ``getvariable``, ``version``, the ``pg_get_*`` macros over the system views, ...), writes
  (``write_log``) or sleeps, and no function is schema-qualified.

An allowlist for tables and table functions, a denylist for scalar functions (there are a
thousand harmless ones); the engine's configuration is the second line behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import orjson

from lakehouse.errors import QueryRejected
from lakehouse.sql.scrub import scrub

TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getvariable",
        "version",
        "pragma_version",
        "pragma_platform",
        "pragma_user_agent",
        "write_log",
        "parse_duckdb_log_message",
        "sleep_ms",
        "pg_sleep",
        "pg_get_viewdef",
        "pg_get_constraintdef",
        "pg_get_expr",
        "format_type",
        "get_block_size",
        "which_secret",
        "in_search_path",
        "nextval",
        "currval",
        "json_execute_serialized_sql",
        "stats",
    }
)
_SYSTEM_PREFIXES = ("duckdb_", "pragma_", "pg_", "sqlite_", "read_", "parquet_")
_LAMBDA_OR_INTERNAL = re.compile(r"^[!~]|__")


class QueryAllowlist:
    """Checks one statement's parse tree against the names the caller may use."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        # every name the system catalog answers to: a dataset or CTE may not shadow one
        self.reserved = frozenset(_system_names(con))

    def check(self, sql: str, datasets: set[str]) -> None:
        """Raise ``QueryRejected`` unless ``sql`` names only allowed tables and functions."""
        tree = self._parse(sql)
        ctes = {name.lower() for name in _cte_names(tree)}
        clash = sorted(ctes & self.reserved)
        if clash:
            raise QueryRejected(f"a CTE may not be named {clash[0]!r}: it is a system name")
        allowed = ({d.lower() for d in datasets} - self.reserved) | ctes
        for node in _nodes(tree):
            kind = node.get("type")
            if kind == "BASE_TABLE":
                _check_table(node, allowed, self.reserved)
            elif kind == "TABLE_FUNCTION":
                _check_table_function(node.get("function") or {})
            elif node.get("class") == "FUNCTION":
                _check_function(node)

    def _parse(self, sql: str) -> Any:
        try:
            text = self._con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
        except duckdb.Error as exc:
            raise QueryRejected("SQL does not parse") from exc
        tree = orjson.loads(text)
        if tree.get("error"):
            raise QueryRejected(f"SQL is not a plain query: {tree.get('error_message', '')}")
        return tree


def _check_table(node: dict[str, Any], allowed: set[str], reserved: frozenset[str]) -> None:
    name = scrub(str(node.get("table_name", "")))
    if node.get("schema_name") or node.get("catalog_name") or name.lower() in reserved:
        raise QueryRejected(f"only the dataset views can be queried, not {name!r}")
    if name.lower() not in allowed:
        raise QueryRejected(f"no dataset named {name!r}", kind="catalog")


def _check_table_function(func: dict[str, Any]) -> None:
    name = str(func.get("function_name", "")).lower()
    if func.get("schema") or func.get("catalog") or name not in TABLE_FUNCTIONS:
        raise QueryRejected(
            f"table function {name!r} is not allowed; use {', '.join(sorted(TABLE_FUNCTIONS))}"
        )


def _check_function(node: dict[str, Any]) -> None:
    name = str(node.get("function_name", "")).lower()
    if node.get("is_operator") or _LAMBDA_OR_INTERNAL.search(name):
        return
    if node.get("schema") or node.get("catalog"):
        raise QueryRejected(f"function {name!r} may not be schema-qualified")
    if name in DENIED_FUNCTIONS or name.startswith(_SYSTEM_PREFIXES):
        raise QueryRejected(f"function {name!r} is not allowed in /v1/sql")


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict in the tree, depth first (iterative: a deep query cannot blow the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                yield str(entry.get("key", ""))


def _system_names(con: duckdb.DuckDBPyConnection) -> Iterator[str]:
    """Views, tables and schemas of the system catalog, and every ``duckdb_*`` table function."""
    for sql in (
        "SELECT view_name FROM duckdb_views() WHERE internal",
        "SELECT table_name FROM duckdb_tables() WHERE internal",
        "SELECT schema_name FROM duckdb_schemas()",
        "SELECT database_name FROM duckdb_databases()",
        "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'duckdb%'",
    ):
        for (name,) in con.execute(sql).fetchall():
            yield str(name).lower()
