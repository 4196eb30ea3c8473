import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.catalog import Catalog, Column, dataset_id, fingerprint
from lakehouse.catalog.manifest import DATASET_NAMESPACE, manifest_key_for
from lakehouse.errors import InvalidInput, NotFound, SchemaDrift

COLS = [Column("id", "int64"), Column("name", "string")]
OTHER = [Column("id", "string"), Column("name", "string")]


def stage(store, table: pa.Table, key: str = "staging/s.parquet") -> str:
    import io

    sink = io.BytesIO()
    pq.write_table(table, sink)
    store.put(key, sink.getvalue())
    return key


def table(n: int = 3) -> pa.Table:
    return pa.table({"id": list(range(n)), "name": [f"n{i}" for i in range(n)]})


def test_fingerprint_is_exactly_the_design_formula():
    import hashlib

    expected = hashlib.sha256(b"id\x1fint64\x1ename\x1fstring").hexdigest()
    assert fingerprint(COLS) == expected
    assert fingerprint(list(reversed(COLS))) != expected  # order matters


def test_dataset_id_is_uuid5_of_the_name():
    import uuid

    assert dataset_id("workers") == str(uuid.uuid5(DATASET_NAMESPACE, "workers"))
    assert dataset_id("workers") == dataset_id("workers") != dataset_id("other")


def test_register_is_idempotent_and_replaces_data_with_same_schema(local_store):
    cat = Catalog(local_store)
    m1 = cat.register("people", COLS, 3, stage(local_store, table(3)))
    m2 = cat.register("people", COLS, 5, stage(local_store, table(5)))
    assert m1.dataset_id == m2.dataset_id
    assert m1.object_key == m2.object_key == f"datasets/people/{fingerprint(COLS)}.parquet"
    assert m2.row_count == 5 and m2.created_at == m1.created_at
    assert pq.read_table(local_store.local_path(m2.object_key)).num_rows == 5
    assert not local_store.exists("staging/s.parquet")


def test_drift_is_refused_and_the_live_data_is_untouched(local_store):
    cat = Catalog(local_store)
    live = cat.register("people", COLS, 3, stage(local_store, table(3)))
    before = local_store.get(live.object_key)
    staged = stage(local_store, pa.table({"id": ["a"], "name": ["b"]}), "staging/drift.parquet")
    with pytest.raises(SchemaDrift) as info:
        cat.register("people", OTHER, 1, staged)
    assert info.value.status == 409
    assert cat.get("people") == live
    assert local_store.get(live.object_key) == before
    assert not local_store.exists("staging/drift.parquet"), "staged drift must be discarded"
    assert [o.key for o in local_store.list("datasets/").objects] == [live.object_key]


def test_check_fails_fast_on_drift(local_store):
    cat = Catalog(local_store)
    cat.register("people", COLS, 3, stage(local_store, table(3)))
    cat.check("people", COLS)
    cat.check("new_one", OTHER)
    with pytest.raises(SchemaDrift):
        cat.check("people", OTHER)


@pytest.mark.parametrize("name", ["", "1abc", "has-dash", "a b", "x" * 64, "drop;--"])
def test_bad_names_are_refused(local_store, name):
    cat = Catalog(local_store)
    with pytest.raises(InvalidInput):
        cat.register(name, COLS, 1, "staging/none")
    assert cat.list() == []


def test_unknown_dataset_is_not_found(local_store):
    with pytest.raises(NotFound):
        Catalog(local_store).get("missing")


def test_rehydrate_keeps_every_dataset(local_store):
    cat = Catalog(local_store)
    for name in ("a", "b", "c"):
        cat.register(name, COLS, 3, stage(local_store, table(3), f"staging/{name}"))
    again = Catalog(local_store)
    assert again.list() == cat.list()
    assert again.load_errors == []


def test_corrupt_manifest_is_reported_not_fatal(local_store):
    cat = Catalog(local_store)
    cat.register("good", COLS, 3, stage(local_store, table(3)))
    local_store.put(manifest_key_for("bad"), b"not parquet at all")
    again = Catalog(local_store)
    assert [m.name for m in again.list()] == ["good"]
    assert len(again.load_errors) == 1 and "bad" in again.load_errors[0]


def test_reconcile_after_a_crash_between_data_and_manifest(local_store):
    cat = Catalog(local_store)
    m = cat.register("people", COLS, 3, stage(local_store, table(3)))
    # the data moved but the manifest write never happened
    stage(local_store, table(7), m.object_key)
    again = Catalog(local_store)
    assert again.get("people").row_count == 7


def test_concurrent_registers_agree(local_store):
    cat = Catalog(local_store)
    errors, results = [], []

    def worker(i: int) -> None:
        try:
            cols = COLS if i % 2 == 0 else OTHER
            data = table(3) if i % 2 == 0 else pa.table({"id": ["x"], "name": ["y"]})
            results.append(
                cat.register("shared", cols, 3, stage(local_store, data, f"staging/{i}"))
            )
        except SchemaDrift as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) + len(errors) == 8
    assert len({m.fingerprint for m in results}) == 1, "exactly one schema wins"
    assert {m.dataset_id for m in results} == {dataset_id("shared")}
    assert Catalog(local_store).get("shared").fingerprint == results[0].fingerprint


def test_a_retried_register_finds_its_work_done(local_store):
    cat = Catalog(local_store)
    first = cat.register("people", COLS, 3, stage(local_store, table(3), "staging/req-1"))
    again = cat.register("people", COLS, 3, "staging/req-1")  # the staged object is gone
    assert again == first
    with pytest.raises(NotFound):
        cat.register("people", COLS, 3, "staging/never-staged")
    assert cat.get("people") == first


def test_a_register_interrupted_after_the_manifest_is_redone(local_store):
    cat = Catalog(local_store)
    key = stage(local_store, table(4), "staging/req-2")
    cat.register("people", COLS, 4, key)
    stage(local_store, table(4), key)  # as if the crash came before the staged delete
    redone = Catalog(local_store).register("people", COLS, 4, key)
    assert redone.row_count == 4 and not local_store.exists(key)
