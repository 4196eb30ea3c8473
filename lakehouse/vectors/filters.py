"""Metadata filters: ``{"state": "TX", "years": {"$gte": 3}, "shift": {"$in": ["day"]}}``.

Every condition must hold (AND). Operators: ``$eq $ne $in $nin $gt $gte $lt $lte``; a bare
value means ``$eq``. Unknown operators and malformed filters are ``InvalidInput``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from lakehouse.errors import InvalidInput

MAX_CONDITIONS = 32
_COMPARE = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


def compile_filter(spec: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], bool] | None:
    """A predicate over one item's metadata, or None for no filter."""
    if not spec:
        return None
    if not isinstance(spec, Mapping) or len(spec) > MAX_CONDITIONS:
        raise InvalidInput(f"filter must be an object of at most {MAX_CONDITIONS} conditions")
    tests = [_condition(str(field), cond) for field, cond in spec.items()]
    return lambda meta: all(test(meta) for test in tests)


def _condition(field: str, cond: Any) -> Callable[[Mapping[str, Any]], bool]:
    if not isinstance(cond, Mapping):
        return lambda meta: meta.get(field) == cond
    checks = [_operator(field, op, value) for op, value in cond.items()]
    return lambda meta: all(check(meta.get(field)) for check in checks)


def _operator(field: str, op: str, value: Any) -> Callable[[Any], bool]:
    if op == "$eq":
        return lambda v: v == value
    if op == "$ne":
        return lambda v: v != value
    if op in ("$in", "$nin"):
        if not isinstance(value, list):
            raise InvalidInput(f"filter {field}.{op} needs a list")
        allowed = set(map(_hashable, value))
        if op == "$in":
            return lambda v: _hashable(v) in allowed
        return lambda v: _hashable(v) not in allowed
    if op in _COMPARE:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidInput(f"filter {field}.{op} needs a number or a string")
        compare = _COMPARE[op]
        return lambda v: _comparable(v, value) and compare(v, value)
    raise InvalidInput(f"unknown filter operator {op!r} on {field!r}")


def _comparable(a: Any, b: Any) -> bool:
    """Numbers with numbers, strings with strings; never across kinds (no TypeError)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (
        isinstance(a, str) and isinstance(b, str)
    )


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, list | dict) else repr(value)
