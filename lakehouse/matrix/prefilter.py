"""The structured pre-filter: a SQL predicate over the roster → an id allow-list.

The predicate goes into ``SELECT <id> FROM <dataset> WHERE (<predicate>)`` and runs on the
hardened SQL engine, which refuses anything but one SELECT. On top of that a predicate must
look like a predicate: no ``;``, no comments, no SELECT/FROM/UNION/... outside string
literals, balanced parentheses, closed quotes. So it cannot end the WHERE clause early,
read another dataset or hide anything from this check.
"""

from __future__ import annotations

import re

from lakehouse.catalog.manifest import validate_dataset_name
from lakehouse.errors import InvalidInput

MAX_PREDICATE_CHARS = 2000
FORBIDDEN_WORDS = frozenset(
    {"select", "from", "union", "intersect", "except", "with", "into", "join", "pivot",
     "unpivot", "attach", "copy", "pragma", "install", "load", "call", "set"}
)  # fmt: skip
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z0-9_]*|.", re.S)


def check_predicate(predicate: str) -> str:
    """The predicate, stripped, or ``InvalidInput`` saying what is wrong with it."""
    if not isinstance(predicate, str) or not predicate.strip():
        raise _bad("sql_filter is empty")
    text = predicate.strip()
    if len(text) > MAX_PREDICATE_CHARS:
        raise _bad(f"sql_filter is longer than {MAX_PREDICATE_CHARS} characters")
    if ";" in text or "--" in text or "/*" in text or "*/" in text:
        raise _bad("sql_filter must not contain ';' or comments")
    depth = 0
    for token in _TOKEN.findall(text):
        if token[0] in "'\"" and (len(token) < 2 or token[-1] != token[0]):
            raise _bad("sql_filter has an unterminated quote")
        if token.lower() in FORBIDDEN_WORDS:
            raise _bad(f"sql_filter is a predicate: {token.upper()} is not allowed in it")
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth < 0:
            raise _bad("sql_filter has unbalanced parentheses")
    if depth:
        raise _bad("sql_filter has unbalanced parentheses")
    return text


def allow_list_sql(dataset: str, id_column: str, predicate: str) -> str:
    """``SELECT "<id>" FROM "<dataset>" WHERE (<predicate>)``, every part checked."""
    validate_dataset_name(dataset)
    validate_dataset_name(id_column)  # the same identifier rule suits a column name
    # the newlines keep anything odd in the predicate inside its own parenthesised lines
    return (
        f'SELECT DISTINCT "{id_column}" FROM "{dataset}" WHERE (\n{check_predicate(predicate)}\n)'
    )


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, field="sql_filter")
