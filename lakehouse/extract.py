"""Pull one JSON object out of a language model's reply.

Models wrap JSON in prose and Markdown fences, so the parser looks, in order, at fenced
```` ```json ```` blocks, other ```` ``` ```` fences, and then the whole text, and in each
takes the first ``{...}`` or ``[...]`` that decodes as JSON. A top-level array yields its
first object; text after the value is ignored.

Decoding uses ``json.JSONDecoder.raw_decode`` at each opening bracket: the C scanner
already knows strings and escapes, stops at the end of the first complete value and
ignores what follows, so braces inside string values never end an object early.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lakehouse.errors import InvalidInput, Unprocessable

MAX_CHARS = 256_000
# A reply like "{{{{{..." would otherwise cost one decode per bracket; this bounds the work.
MAX_CANDIDATES = 256

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_OPENER = re.compile(r"[{\[]")


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are Python's extension, not JSON; they would break every consumer.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def extract_json(text: str) -> dict[str, Any]:
    """Return the first JSON object found in ``text``.

    Raises:
        InvalidInput: ``text`` is not a string or is longer than ``MAX_CHARS``.
        Unprocessable: no JSON object in the text, or every candidate fails to decode.
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
        raise Unprocessable(f"no valid JSON object in the text ({first_error})")
    raise Unprocessable("no JSON object found in the text")


def _regions(text: str) -> Iterator[str]:
    """Fenced blocks tagged json first, then other fences, then the whole text."""
    fences = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    yield from (body for lang, body in fences if lang == "json")
    yield from (body for lang, body in fences if lang != "json")
    yield text


def _first_object(region: str) -> tuple[dict[str, Any] | None, str | None]:
    """The first candidate in ``region`` that decodes to an object, else the first error."""
    first_error: str | None = None
    for n, match in enumerate(_OPENER.finditer(region)):
        if n >= MAX_CANDIDATES:
            break
        try:
            value, _end = _DECODER.raw_decode(region, match.start())
        except RecursionError:  # "[[[[..." nests deeper than the decoder's stack
            first_error = first_error or f"nesting too deep at offset {match.start()}"
            continue
        except ValueError as exc:  # JSONDecodeError, or a rejected constant
            where = f" at offset {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
            first_error = first_error or f"{getattr(exc, 'msg', exc)}{where}"
            continue
        found = _as_object(value)
        if found is not None:
            return found, None
    return None, first_error


def _as_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return next((item for item in value if isinstance(item, dict)), None)
    return None
