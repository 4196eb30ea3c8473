"""``arrow_source``: pyarrow reads a stored Parquet where it lives, with no local copy."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import NotFound
from lakehouse.storage import open_store
from lakehouse.storage.arrow import arrow_source

TABLE = pa.table({"id": ["a", "b", "c"], "n": [1, 2, 3]})


def put_parquet(settings, tmp_path, key):
    local = tmp_path / "t.parquet"
    pq.write_table(TABLE, local)
    store = open_store(settings)
    store.put_file(key, local)
    return store


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_reads_in_place_and_refuses_a_missing_object(backend, request, tmp_path):
    settings = request.getfixturevalue("settings" if backend == "local" else "s3_settings")
    store = put_parquet(settings, tmp_path, "datasets/t/abc.parquet")
    path, filesystem = arrow_source(settings, store, "datasets/t/abc.parquet")
    assert pq.read_table(path, filesystem=filesystem).equals(TABLE)
    if backend == "s3":
        downloads = [p for p in settings.cache_dir.rglob("*") if p.is_file()]
        assert not path.startswith("/") and downloads == []
    with pytest.raises(NotFound):
        arrow_source(settings, store, "datasets/t/missing.parquet")


def test_an_s3_prefix_is_part_of_the_path(s3_settings, tmp_path):
    settings = s3_settings.model_copy(update={"s3_prefix": "team-a"})
    store = put_parquet(settings, tmp_path, "datasets/t/p.parquet")
    path, filesystem = arrow_source(settings, store, "datasets/t/p.parquet")
    assert path == f"{settings.s3_bucket}/team-a/datasets/t/p.parquet"
    assert pq.read_table(path, filesystem=filesystem).num_rows == 3
