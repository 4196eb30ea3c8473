import json

import pyarrow.csv as pacsv

from lakehouse.cli import main
from lakehouse.staffing import COLUMNS, LABELLED_QUERIES, generate_batches, write_csv
from lakehouse.staffing.roles import ROLES


def test_generator_is_deterministic_and_prefix_stable():
    a = list(generate_batches(1200, seed=3))
    b = list(generate_batches(1200, seed=3))
    assert [x.to_pylist() for x in a] == [x.to_pylist() for x in b]
    longer = next(iter(generate_batches(60_000, seed=3))).slice(0, 1200)
    assert longer.to_pylist() == a[0].to_pylist()
    other = next(iter(generate_batches(1200, seed=4)))
    assert other.to_pylist() != a[0].to_pylist()


def test_columns_and_variety():
    batch = next(iter(generate_batches(5000)))
    assert tuple(batch.schema.names) == COLUMNS and len(COLUMNS) >= 18
    rows = batch.to_pylist()
    assert len({r["worker_id"] for r in rows}) == 5000
    assert len({r["role"] for r in rows}) == len(ROLES)
    assert len({r["city"] for r in rows}) >= 15
    assert all("\n" in r["resume"] and r["role"] in r["resume"] for r in rows[:100])
    assert all(1 <= r["rating"] <= 5 and 0 <= r["reliability_score"] <= 1 for r in rows)


def test_labelled_queries_name_real_roles():
    titles = {r.title for r in ROLES}
    assert len(LABELLED_QUERIES) >= 30
    for item in LABELLED_QUERIES:
        assert set(item["roles"]) <= titles, item
    assert any(not item["roles"] for item in LABELLED_QUERIES), "out-of-domain queries exist"


def test_csv_round_trips_multiline_resumes(tmp_path):
    path = tmp_path / "w.csv"
    assert write_csv(path, 300) == 300
    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    assert table.num_rows == 300
    assert (
        table.column("resume").to_pylist()
        == next(iter(generate_batches(300))).column("resume").to_pylist()
    )


def test_cli_generate_writes_csv_and_queries(tmp_path, capsys):
    out = tmp_path / "sub" / "workers.csv"
    assert main(["generate", "--rows", "250", "--out", str(out)]) == 0
    assert "wrote 250 worker profiles" in capsys.readouterr().out
    assert (
        pacsv.read_csv(out, parse_options=pacsv.ParseOptions(newlines_in_values=True)).num_rows
        == 250
    )
    queries = json.loads(out.with_suffix(".queries.json").read_text())
    assert queries == list(LABELLED_QUERIES)


def test_cli_to_parquet_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,a\n1,2\n")
    assert main(["to-parquet", str(bad), str(tmp_path / "o.parquet")]) == 2
    assert "repeats column" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()
