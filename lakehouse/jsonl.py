"""Bounded reading of JSONL files: shared by the pathway log and the observer sink.

A line longer than the cap is never held in memory whole: it is consumed in bounded
pieces, reported, and skipped. A last line without a newline (a torn write) is still
yielded; the caller's parser decides whether it is usable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import IO, Any

_SKIP_CHUNK = 1 << 16


def iter_lines(
    fh: IO[bytes], max_line_bytes: int, on_overlong: Callable[[int], None]
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` for each line of at most ``max_line_bytes`` bytes.

    The newline does not count towards the cap. ``on_overlong(line_number)`` is called for
    each line over the cap, which is skipped. Blank lines are skipped silently.
    """
    lineno = 0
    while True:
        line = fh.readline(max_line_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            _skip_rest_of_line(fh)
            on_overlong(lineno)
            continue
        if line.strip():
            yield lineno, line


def _skip_rest_of_line(fh: IO[bytes]) -> None:
    while True:
        piece = fh.readline(_SKIP_CHUNK)
        if not piece or piece.endswith(b"\n"):
            return


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: a line carrying them is corrupt, not a float.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode_line(line: bytes) -> Any:
    """Strict JSON decode of one line; ``ValueError`` (incl. ``UnicodeDecodeError``) if bad."""
    return _DECODER.decode(line.decode("utf-8"))


def dumps_compact(value: Any) -> str:
    """Compact JSON text that round-trips exactly; ``ValueError`` for NaN or Infinity."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not a bool) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
