"""The Ray Data bulk job: embeds a catalog dataset into a corpus, skips what is indexed."""

from pathlib import Path

import pytest
import ray

from actors.catalog import catalog_actor
from actors.jobs.bulk_embed import JobArgs, run
from actors.vectors import shard_name
from lakehouse.embed import EmbedConfig
from lakehouse.ingest import csv_to_parquet
from lakehouse.staffing import write_csv
from lakehouse.storage import open_store

pytestmark = pytest.mark.usefixtures("ray_session")


def register(settings, tmp_path, name, rows):
    """A generated staffing CSV of ``rows`` rows, converted and registered as ``name``."""
    csv = tmp_path / f"{name}.csv"
    write_csv(csv, rows)
    _register_file(settings, tmp_path, name, csv)


def register_csv(settings, tmp_path, name, text):
    """A CSV given as text, converted and registered as ``name``."""
    csv = tmp_path / f"{name}.csv"
    csv.write_text(text)
    _register_file(settings, tmp_path, name, csv)


def _register_file(settings, tmp_path, name, csv):
    conv = csv_to_parquet(csv, tmp_path / f"{name}.parquet", max_bytes=1 << 30)
    open_store(settings).put_file(f"staging/{name}.parquet", Path(conv.path))
    ray.get(
        catalog_actor(settings).register.remote(
            name, conv.columns, conv.row_count, f"staging/{name}.parquet"
        )
    )


def test_bulk_embed_is_resumable_and_idempotent(settings, tmp_path, model_cache):
    register(settings, tmp_path, "workers", 240)
    embed = EmbedConfig(cache_dir=model_cache)
    args = JobArgs(dataset="workers", corpus="workers", shards=2, write_batch=50, batch_size=32)

    partial = run(
        JobArgs(**{**args.__dict__, "limit": 100}), settings, embed
    )  # as if killed part-way
    assert partial["rows_embedded"] == 100
    rest = run(args, settings, embed)
    assert rest["rows_embedded"] == 140 and rest["rows_skipped_already_indexed"] == 100
    again = run(args, settings, embed)
    assert again["rows_embedded"] == 0 and again["rows_skipped_already_indexed"] == 240

    import asyncio

    from actors.remote.corpus_router import remote_router

    router = remote_router(settings)

    assert asyncio.run(router.sizes("workers")) == 240
    query = open_embedder_query(embed, "forklift driver who moves pallets")
    hits = asyncio.run(router.search("workers", query, 5))["hits"]
    assert any(h["metadata"]["role"] in ("Forklift Operator", "Warehouse Associate") for h in hits)
    for index in range(2):
        ray.kill(
            ray.get_actor(shard_name(settings, "workers", index), "lakehouse"), no_restart=True
        )


def test_an_unknown_id_column_is_refused_before_anything_is_created(
    settings, tmp_path, model_cache
):
    from actors.vectors import registry_actor
    from lakehouse.errors import InvalidInput, NotFound

    register(settings, tmp_path, "people", 20)
    args = JobArgs(dataset="people", corpus="people", id_column="no_such_column")
    with pytest.raises(InvalidInput, match="no_such_column"):
        run(args, settings, EmbedConfig(cache_dir=model_cache))
    with pytest.raises(NotFound):
        ray.get(registry_actor(settings).get.remote("people"))


def open_embedder_query(config, text):
    from lakehouse.embed import open_embedder

    with open_embedder(config) as embedder:
        return embedder.embed_query([text])[0]


@pytest.mark.parametrize(
    "override, match",
    [
        ({"dataset": "no_such_dataset"}, "no_such_dataset"),
        ({"metadata_columns": "role,no_such_meta"}, "no_such_meta"),
        ({"text_template": "{no_such_text}"}, "no_such_text"),
        ({"num_gpus": 1.0}, "no live node of this cluster has that many GPUs"),  # 0-GPU Ray
    ],
)
def test_a_bad_job_is_refused_before_anything_is_created(
    settings, tmp_path, model_cache, override, match
):
    from actors.vectors import registry_actor
    from lakehouse.errors import LakehouseError, NotFound

    register(settings, tmp_path, "roster", 20)
    store = open_store(settings)
    before = sorted(o.key for o in store.iter_all("vectors/"))
    args = JobArgs(**{"dataset": "roster", "corpus": "refused", **override})
    with pytest.raises(LakehouseError, match=match) as refused:
        run(args, settings, EmbedConfig(cache_dir=model_cache))
    assert refused.value.status in (400, 404)
    with pytest.raises(NotFound):
        ray.get(registry_actor(settings).get.remote("refused"))
    assert sorted(o.key for o in store.iter_all("vectors/")) == before
