"""The SQL worker process: one hardened ``SqlEngine`` under an address-space limit.

Started by ``lakehouse.sql.sandbox`` as ``python -m lakehouse.sql.worker <fd> <config json>``.
It caps its own address space (``RLIMIT_AS``) before building the engine, so an allocation
DuckDB does not account for (``repeat('x', 2000000000)`` builds one string outside its
``memory_limit``) fails inside this process instead of growing the replica. It works in the
object root, so every view reads a relative path and no host path is in any definition.
"""

from __future__ import annotations

import os
import resource
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from lakehouse.errors import InvalidInput, LakehouseError, TooLarge
from lakehouse.sql.engine import SqlEngine, SqlLimits
from lakehouse.sql.scrub import scrub


def serve(conn: Connection, engine: SqlEngine) -> None:
    """Answer ``("sync", views)`` and ``("query", sql)`` until the parent hangs up."""
    while True:
        try:
            op, arg = conn.recv()
        except EOFError:
            return
        conn.send(_answer(engine, op, arg))


def _answer(engine: SqlEngine, op: str, arg: Any) -> tuple[str, Any]:
    try:
        if op == "sync":
            engine.sync(arg)
            return "ok", None
        return "ok", engine.query(arg)
    except LakehouseError as exc:
        return "error", exc
    except MemoryError:
        return "error", TooLarge("query needs more memory than an SQL worker may use")
    except Exception as exc:  # never crash the worker on one query; say what kind it was
        return "error", InvalidInput(f"query failed: {scrub(str(exc))[:300]}")


def main(argv: list[str]) -> None:
    fd, config = int(argv[1]), orjson.loads(argv[2])
    limit = int(config["max_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(config["root"])
    limits = SqlLimits(**config["limits"])
    engine = SqlEngine(config["allowed_dirs"], Path(config["temp_dir"]), limits)
    serve(Connection(fd), engine)


if __name__ == "__main__":
    main(sys.argv)
