"""Checks ingest makes that pyarrow's CSV reader does not: NUL bytes, an unterminated quote,
and the one pass that settles every column's type at once.

pyarrow accepts a NUL inside a field and, with ``newlines_in_values``, lets a quote that never
closes swallow the rest of the file into one field; both would be stored silently. And when a
column's inferred type breaks after the first block, the reader names only the first such
column, so fixing them one at a time costs a pass over the file each; ``settled_types`` finds
them all in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakehouse.errors import InvalidInput

_CHUNK = 1 << 20
_NULLS = pa.array(pacsv.ConvertOptions().null_values, pa.string())


def refuse_nul(csv_path: Path) -> None:
    """``InvalidInput`` if the file holds a NUL byte (text columns would store it)."""
    offset = 0
    with open(csv_path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            at = chunk.find(b"\x00")
            if at >= 0:
                raise InvalidInput(
                    f"the CSV holds a NUL byte at offset {offset + at}; NUL is not allowed in text"
                )
            offset += len(chunk)


def refuse_unterminated_quote(csv_path: Path, last: pa.RecordBatch | None) -> None:
    """``InvalidInput`` if the last field opened a quote that the file never closes.

    A quote left open swallows everything after it into the last row's last field, so the
    file then ends with ``<field start>"`` followed by exactly that field's text (quotes
    doubled) and no closing quote, and the file holds an odd number of quote characters.
    Not caught: an open quote in a file that also has a stray quote inside an unquoted
    field (the counts even out).
    """
    if last is None or last.num_rows == 0 or not pa.types.is_string(last.schema.field(-1).type):
        return
    value = last.column(last.num_columns - 1)[last.num_rows - 1].as_py()
    if value is None:
        return
    raw = value.replace('"', '""').encode()
    size = Path(csv_path).stat().st_size
    want = len(raw) + 2
    with open(csv_path, "rb") as fh:
        fh.seek(max(0, size - want))
        tail = fh.read()
    opened = tail[-len(raw) - 1 : len(tail) - len(raw)] == b'"' and tail.endswith(raw)
    at_field_start = len(tail) < want or tail[:1] in (b",", b"\n", b"\r")
    # the tail alone can also be read that way when the last value ends in a newline after
    # a quote; an open quote also leaves an odd number of quote characters in the file
    if opened and at_field_start and _quote_count(csv_path) % 2 == 1:
        raise InvalidInput(
            "malformed CSV: a quoted field is never closed (an unterminated quote swallows the "
            "rest of the file); nothing was registered"
        )


def _quote_count(csv_path: Path) -> int:
    total = 0
    with open(csv_path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            total += chunk.count(b'"')
    return total


def settled_types(
    batches: Iterable[pa.RecordBatch], inferred: pa.Schema, forced: dict[str, pa.DataType]
) -> dict[str, pa.DataType]:
    """``forced`` plus every typed column some value of which does not parse as its type.

    ``batches`` hold every column as text; each batch costs one vectorised cast per column
    still typed, so the pass is linear in the file whatever the number of broken columns.
    """
    forced = dict(forced)
    typed = {f.name: f.type for f in inferred if f.name not in forced and _castable(f.type)}
    for batch in batches:
        for name, dtype in list(typed.items()):
            column = batch.column(name)
            values = pc.if_else(pc.is_in(column, _NULLS), pa.scalar(None, pa.string()), column)
            try:
                pc.cast(values, dtype, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                forced[name] = pa.string()
                del typed[name]
    return forced


def _castable(dtype: pa.DataType) -> bool:
    return not (pa.types.is_string(dtype) or pa.types.is_large_string(dtype))
