"""CSV → Parquet, streamed with pyarrow in bounded memory.

Types are inferred by pyarrow from the first block; a column whose numbers carry leading
zeros (ids, zip codes) stays string. If an inferred type fails on a later block, one pass
finds every such column (``ingest_checks.settled_types``) and the file is converted again:
at most three passes whatever the number of broken columns. RFC 4180 quoted fields may span
lines; a quote never closed, a NUL byte, a header that is not UTF-8, more than
``max_columns`` columns or a row longer than ``max_field_bytes`` are refused (400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakehouse.catalog.manifest import Column, columns_of
from lakehouse.errors import InvalidInput, TooLarge
from lakehouse.ingest_checks import refuse_nul, refuse_unterminated_quote, settled_types

ROW_GROUP_ROWS = 32_768
_BAD_COLUMN = re.compile(r"In CSV column #(\d+)")
_LEADING_ZERO = r"^[+-]?0[0-9]"
_STRADDLE = "straddling object"
MAX_COLUMNS = 2_000
MAX_FIELD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ConvertResult:
    columns: list[Column]
    row_count: int
    path: Path


def csv_to_parquet(
    csv_path: Path,
    out_path: Path,
    *,
    max_bytes: int,
    block_bytes: int = 512 * 1024,
    max_field_bytes: int = MAX_FIELD_BYTES,
    max_columns: int = MAX_COLUMNS,
) -> ConvertResult:
    """Convert the CSV at ``csv_path`` to Parquet at ``out_path``.

    Raises ``InvalidInput`` for an empty, header-only or malformed file, duplicate or blank
    column names, more than ``max_columns`` columns or a row over ``max_field_bytes``;
    ``TooLarge`` past ``max_bytes``; ``out_path`` is removed on error.
    """
    size = Path(csv_path).stat().st_size
    if size == 0:
        raise InvalidInput("the CSV file is empty")
    if size > max_bytes:
        raise TooLarge(f"CSV of {size} bytes exceeds the cap of {max_bytes}", limit=max_bytes)
    refuse_nul(Path(csv_path))
    limits = _Limits(block_bytes, max_field_bytes, max_columns)
    try:
        try:
            return _convert_with_fallback(Path(csv_path), Path(out_path), limits)
        except _RowTooLong:
            if block_bytes >= max_field_bytes:
                raise
            # a row longer than a block: read again with blocks as large as the field cap
            bigger = _Limits(max_field_bytes, max_field_bytes, max_columns)
            return _convert_with_fallback(Path(csv_path), Path(out_path), bigger)
    except _RowTooLong:
        Path(out_path).unlink(missing_ok=True)
        raise InvalidInput(
            _too_long(max_field_bytes, "a row"), limit_bytes=max_field_bytes
        ) from None
    except BaseException:
        Path(out_path).unlink(missing_ok=True)
        raise


class _RowTooLong(Exception):
    """A row does not fit in one read block."""


@dataclass(frozen=True)
class _Limits:
    block_bytes: int
    max_field_bytes: int
    max_columns: int


def _too_long(cap: int, what: str) -> str:
    return (
        f"{what} of the CSV is longer than the {cap} byte field cap "
        "(LAKEHOUSE_INGEST_MAX_FIELD_BYTES); split it or raise the cap"
    )


def _convert_with_fallback(csv_path: Path, out_path: Path, limits: _Limits) -> ConvertResult:
    block_bytes = limits.block_bytes
    names, inferred, forced = _probe(csv_path, block_bytes, limits.max_columns)
    try:
        return _convert(csv_path, out_path, limits, forced)
    except pa.ArrowInvalid as exc:
        if _failed_column(exc, names) is None:
            raise InvalidInput(f"malformed CSV: {_first_line(exc)}") from exc
    as_text = _open(csv_path, block_bytes, dict.fromkeys(names, pa.string()))
    try:
        forced = settled_types(_batches(as_text), inferred, forced)
    except pa.ArrowInvalid as exc:  # not even text (invalid UTF-8): no type can fix it
        raise InvalidInput(f"malformed CSV: {_first_line(exc)}") from exc
    # the cast and the CSV parser can still disagree on a value: that column, one at a time
    for _ in range(len(names) + 1):
        try:
            return _convert(csv_path, out_path, limits, forced)
        except pa.ArrowInvalid as exc:
            column = _failed_column(exc, names)
            if column is None or column in forced:
                raise InvalidInput(f"malformed CSV: {_first_line(exc)}") from exc
            forced[column] = pa.string()
    raise InvalidInput("malformed CSV: type inference did not settle")  # pragma: no cover


def _probe(
    csv_path: Path, block_bytes: int, max_columns: int
) -> tuple[list[str], pa.Schema, dict[str, pa.DataType]]:
    """Header checks, and the columns the first block already shows must stay strings."""
    reader = _open(csv_path, block_bytes, {})
    names = reader.schema.names
    if len(names) > max_columns:
        raise InvalidInput(
            f"the CSV has {len(names)} columns; at most {max_columns} are allowed "
            "(LAKEHOUSE_INGEST_MAX_COLUMNS)",
            limit=max_columns,
        )
    _check_names(names)
    inferred = reader.schema
    first = _read_first(reader)
    forced: dict[str, pa.DataType] = {}
    as_text = _read_first(_open(csv_path, block_bytes, dict.fromkeys(names, pa.string())))
    for i, field in enumerate(inferred):
        if pa.types.is_null(field.type) or _is_number(field.type) and _has_leading_zero(as_text, i):
            forced[field.name] = pa.string()
    if first is None:
        raise InvalidInput("the CSV has a header but no data rows")
    return names, inferred, forced


def _convert(
    csv_path: Path, out_path: Path, limits: _Limits, forced: dict[str, pa.DataType]
) -> ConvertResult:
    reader = _open(csv_path, limits.block_bytes, forced)
    schema = reader.schema
    rows, pending, pending_rows, last = 0, [], 0, None
    with pq.ParquetWriter(out_path, schema) as writer:
        for batch in _batches(reader):
            _check_field_sizes(batch, limits.max_field_bytes)
            last = batch if batch.num_rows else last
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending, schema))
                rows, pending, pending_rows = rows + pending_rows, [], 0
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema))
            rows += pending_rows
    if rows == 0:
        raise InvalidInput("the CSV has a header but no data rows")
    refuse_unterminated_quote(csv_path, last)
    return ConvertResult(columns=columns_of(schema), row_count=rows, path=out_path)


def _open(
    csv_path: Path, block_bytes: int, column_types: dict[str, pa.DataType]
) -> pacsv.CSVStreamingReader:
    try:
        reader = pacsv.open_csv(
            csv_path,
            # one reader thread: same speed here, and no read-ahead blocks held in memory
            read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=column_types),
        )
        _ = reader.schema.names  # decodes the header: a UnicodeDecodeError comes from here
        return reader
    except pa.ArrowInvalid as exc:
        if _STRADDLE in str(exc):
            raise _RowTooLong from exc
        raise InvalidInput(f"malformed CSV: {_first_line(exc)}") from exc
    except UnicodeDecodeError as exc:  # pyarrow decodes the header names itself
        raise InvalidInput(
            f"the CSV header is not valid UTF-8 (byte {exc.start} of the header)"
        ) from None


def _check_field_sizes(batch: pa.RecordBatch, cap: int) -> None:
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_string(field.type) and batch.num_rows:
            longest = pc.max(pc.binary_length(column)).as_py()
            if longest is not None and longest > cap:
                raise InvalidInput(_too_long(cap, f"a field of column {field.name!r}"))


def _batches(reader: pacsv.CSVStreamingReader):
    """The reader's batches, with a row longer than a block reported as ``_RowTooLong``."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            if _STRADDLE in str(exc):
                raise _RowTooLong from exc
            raise
        yield batch


def _read_first(reader: pacsv.CSVStreamingReader) -> pa.RecordBatch | None:
    try:
        for batch in _batches(reader):
            if batch.num_rows:
                return batch
    except pa.ArrowInvalid:
        return None  # a later conversion failure is handled by the fallback loop
    return None


def _is_number(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype)


def _has_leading_zero(as_text: pa.RecordBatch | None, index: int) -> bool:
    if as_text is None:
        return False
    return bool(pc.any(pc.match_substring_regex(as_text.column(index), _LEADING_ZERO)).as_py())


def _check_names(names: list[str]) -> None:
    if any(not n.strip() for n in names):
        raise InvalidInput("the CSV header has a blank column name")
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise InvalidInput(f"the CSV header repeats column {name!r}", column=name)
        seen.add(name.lower())


def _failed_column(exc: pa.ArrowInvalid, names: list[str]) -> str | None:
    match = _BAD_COLUMN.search(str(exc))
    if not match:
        return None
    index = int(match.group(1))
    return names[index] if 0 <= index < len(names) else None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
