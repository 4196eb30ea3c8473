"""Read-only SQL over the catalog's Parquet files with a hardened DuckDB connection."""

from lakehouse.sql.engine import QueryResult, SqlEngine, SqlLimits

__all__ = ["QueryResult", "SqlEngine", "SqlLimits"]
