"""Pull one JSON object out of a language model's reply.

Models wrap JSON in prose and Markdown fences, so the parser looks, in order, at fenced
```` ```json ```` blocks, bare ```` ``` ```` fences, and then the whole text, and in each
takes the first *balanced* ``{...}`` or ``[...]`` that ``json.loads`` accepts. A top-level
array yields its first object. Text after the object is ignored.

Balance is found by a string-aware bracket scan (quotes and backslash escapes respected),
so braces inside string values never end an object early.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lakehouse.errors import InvalidInput, Unprocessable

MAX_CHARS = 1_000_000
# A reply like "{{{{..." would otherwise cost one scan per opening bracket: quadratic.
MAX_CANDIDATES = 64

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n`]*\n?(.*?)```", re.DOTALL)
_CLOSE = {"{": "}", "[": "]"}


def extract_json(text: str) -> dict[str, Any]:
    """Return the first JSON object found in ``text``.

    Raises:
        InvalidInput: ``text`` is not a string or is longer than ``MAX_CHARS``.
        Unprocessable: no JSON object could be found, or the only candidates are invalid.
    """
    if not isinstance(text, str):
        raise InvalidInput("extract_json expects a string")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"text is longer than {MAX_CHARS} characters")
    first_error: str | None = None
    for region in _regions(text):
        found, error = _first_object(region)
        if found is not None:
            return found
        first_error = first_error or error
    if first_error:
        raise Unprocessable(f"no valid JSON object in the text: {first_error}")
    raise Unprocessable("no JSON object found in the text")


def _regions(text: str) -> Iterator[str]:
    """Fenced blocks tagged json first, then other fences, then the whole text."""
    fences = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    yield from (body for lang, body in fences if lang == "json")
    yield from (body for lang, body in fences if lang != "json")
    yield text


def _first_object(region: str) -> tuple[dict[str, Any] | None, str | None]:
    """The first balanced candidate in ``region`` that decodes to an object, else an error."""
    first_error: str | None = None
    for n, start in enumerate(_openers(region)):
        if n >= MAX_CANDIDATES:
            break
        end = _balanced_end(region, start)
        if end is None:
            first_error = first_error or f"unbalanced {region[start]!r} at offset {start}"
            continue
        try:
            value = json.loads(region[start:end])
        except json.JSONDecodeError as exc:
            first_error = first_error or f"invalid JSON at offset {start}: {exc.msg}"
            continue
        found = _as_object(value)
        if found is not None:
            return found, None
    return None, first_error


def _openers(region: str) -> Iterator[int]:
    return (i for i, ch in enumerate(region) if ch in _CLOSE)


def _as_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return next((item for item in value if isinstance(item, dict)), None)
    return None


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket closing ``text[start]``, or None if it never closes."""
    stack: list[str] = []
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _CLOSE:
            stack.append(_CLOSE[ch])
        elif ch in "}]":
            if ch != stack.pop():
                return None  # mismatched bracket: not a JSON value
            if not stack:
                return i + 1
    return None
