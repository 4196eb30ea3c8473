import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.errors import InvalidInput, TooLarge
from lakehouse.ingest import csv_to_parquet


def convert(tmp_path, text: str | bytes, **kw):
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode() if isinstance(text, str) else text)
    out = tmp_path / "out.parquet"
    kw.setdefault("max_bytes", 1 << 30)
    return csv_to_parquet(src, out, **kw), out


def types(result):
    return {c.name: c.type for c in result.columns}


def test_types_are_inferred(tmp_path):
    result, out = convert(tmp_path, "i,f,s,b,d\n1,2.5,x,true,2024-01-02\n2,3,y,false,2024-02-03\n")
    assert types(result) == {
        "i": "int64",
        "f": "double",
        "s": "string",
        "b": "bool",
        "d": "date32[day]",
    }
    assert result.row_count == 2
    assert pq.read_table(out).column("s").to_pylist() == ["x", "y"]


def test_multiline_quoted_fields_rfc4180(tmp_path):
    text = 'id,resume\n1,"line one\nline two, with comma\nand ""quotes"""\n2,plain\n'
    result, out = convert(tmp_path, text)
    assert result.row_count == 2
    assert pq.read_table(out).column("resume").to_pylist()[0] == (
        'line one\nline two, with comma\nand "quotes"'
    )


def test_leading_zeros_stay_strings(tmp_path):
    result, out = convert(tmp_path, "zip,n\n01234,1\n98765,2\n")
    assert types(result) == {"zip": "string", "n": "int64"}
    assert pq.read_table(out).column("zip").to_pylist() == ["01234", "98765"]


def test_ambiguity_in_a_later_block_falls_back_to_string(tmp_path):
    rows = "".join(f"{i},{i * 2}\n" for i in range(20_000))
    result, out = convert(tmp_path, "a,b\n" + rows + "oops,7\n", block_bytes=64 * 1024)
    assert types(result) == {"a": "string", "b": "int64"}
    assert result.row_count == 20_001
    assert pq.read_table(out).column("a").to_pylist()[-1] == "oops"


def test_all_empty_column_is_string(tmp_path):
    result, _ = convert(tmp_path, "a,b\n1,\n2,\n")
    assert types(result)["b"] == "string"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("a,b,c\n", "no data rows"),
        ("a,b\n1,2\n3\n", "malformed"),
        ("a,b\n1,2,3\n", "malformed"),
        ("a,a\n1,2\n", "repeats"),
        ("Name,name\n1,2\n", "repeats"),
        ("a,,c\n1,2,3\n", "blank"),
    ],
)
def test_bad_csv_is_refused_and_leaves_no_output(tmp_path, text, reason):
    with pytest.raises(InvalidInput, match=reason):
        convert(tmp_path, text)
    assert not (tmp_path / "out.parquet").exists()


def test_size_cap(tmp_path):
    with pytest.raises(TooLarge):
        convert(tmp_path, "a\n" + "1\n" * 100, max_bytes=50)
    assert not (tmp_path / "out.parquet").exists()


def test_large_file_streams_in_row_groups(tmp_path):
    rows = "".join(f"{i},name{i},{i / 3}\n" for i in range(100_000))
    result, out = convert(tmp_path, "id,name,x\n" + rows, block_bytes=256 * 1024)
    meta = pq.ParquetFile(out).metadata
    assert result.row_count == meta.num_rows == 100_000
    assert meta.num_row_groups > 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(10**9), 10**9),
            # NUL is refused by design (tests/api/test_ingest_parsing.py); all else round-trips
            st.text(
                st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20
            ),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_round_trip_of_arbitrary_text(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("rt")
    table = pa.table({"n": [r[0] for r in rows], "t": [r[1] for r in rows]})
    src = tmp / "in.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, src, pacsv.WriteOptions(quoting_style="all_valid"))
    result = csv_to_parquet(src, tmp / "o.parquet", max_bytes=1 << 20)
    back = pq.read_table(tmp / "o.parquet")
    assert result.row_count == len(rows)
    assert back.column("n").to_pylist() == [r[0] for r in rows]
    got = [str(v) if v is not None else "" for v in back.column("t").to_pylist()]
    assert got == [r[1] for r in rows] or types(result)["t"] != "string"


def test_many_columns_breaking_after_the_first_block_cost_a_fixed_number_of_passes(
    tmp_path, monkeypatch
):
    import lakehouse.ingest as ingest

    calls = []
    real = ingest._convert
    monkeypatch.setattr(ingest, "_convert", lambda *a: calls.append(1) or real(*a))
    cols = 60
    rows = [",".join(str(j) for _ in range(cols)) for j in range(3000)]
    rows.append(",".join("x" for _ in range(cols)))  # every column breaks here
    src = tmp_path / "wide.csv"
    src.write_text(",".join(f"c{i}" for i in range(cols)) + "\n" + "\n".join(rows) + "\n")
    result = csv_to_parquet(src, tmp_path / "o.parquet", max_bytes=1 << 30, block_bytes=64 * 1024)
    assert result.row_count == 3001 and {c.type for c in result.columns} == {"string"}
    assert len(calls) == 2, "one failed conversion, one settling pass, one final conversion"


@pytest.mark.parametrize("value", ["\n", '"\n', 'a"\n"', ",\n", "\r\n"])
def test_a_closed_last_field_that_ends_like_an_open_quote_is_accepted(tmp_path, value):
    import pyarrow.csv as pacsv

    src = tmp_path / "in.csv"
    table = pa.table({"n": [1], "t": [value]})
    pacsv.write_csv(table, src, pacsv.WriteOptions(quoting_style="all_valid"))
    csv_to_parquet(src, tmp_path / "o.parquet", max_bytes=1 << 20)
    assert pq.read_table(tmp_path / "o.parquet").column("t").to_pylist() == [value]
