"""Issue 11's seams over real actors: a write through any path reaches every replica's
matrix cache, and the bulk job builds a corpus from a dataset that is not the roster."""

from __future__ import annotations

import asyncio
import time

import pytest
import ray

from actors.jobs.bulk_embed import JobArgs, run
from actors.services import build_services
from actors.vectors import registry_actor, shard_name
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.errors import Conflict, InvalidInput, NotFound
from lakehouse.matrix import MatrixQuery, Record
from tests.ray.test_bulk_embed import open_embedder_query, register, register_csv

pytestmark = pytest.mark.usefixtures("ray_session")


def _drop_shards(settings, corpus, shards):
    for index in range(shards):
        ray.kill(ray.get_actor(shard_name(settings, corpus, index), "lakehouse"), no_restart=True)


def test_writes_through_any_path_reach_every_replicas_cache(settings, tmp_path, model_cache):
    register(settings, tmp_path, "workers", 60)
    embed = EmbedConfig(cache_dir=model_cache)
    job = JobArgs(dataset="workers", corpus="workers", shards=2, write_batch=20, batch_size=16)
    run(JobArgs(**{**job.__dict__, "limit": 40}), settings, embed)
    first = build_services(settings, "ray", embedder=LazyEmbedder(embed))  # two replicas
    second = build_services(settings, "ray", embedder=LazyEmbedder(embed))
    vector = open_embedder_query(embed, "forklift driver who moves pallets")
    wide = MatrixQuery(corpora=[("workers", 1.0)], vector=vector, k=100)
    fresh_s = first.matrix.config.fresh_s

    async def search(services, query):
        return await services.matrix.search(query)

    assert len(asyncio.run(search(first, wide))["hits"]) == 40
    assert asyncio.run(search(first, wide))["cached"] is True

    # 1. the bulk job adds the other 20 rows: the first replica's cached answer is stale
    run(job, settings, embed)
    time.sleep(fresh_s)
    after_job = asyncio.run(search(first, wide))
    assert after_job["cached"] is False and len(after_job["hits"]) == 60

    # 2. another replica adds a vector that is the query itself
    top = MatrixQuery(corpora=[("workers", 1.0)], vector=vector, k=3)
    assert asyncio.run(search(first, top))["hits"][0]["id"] != "planted"
    assert asyncio.run(search(first, top))["cached"] is True
    asyncio.run(second.vectors.add("workers", ["planted"], [vector], [{"role": "Planted"}]))
    time.sleep(fresh_s)
    seen = asyncio.run(search(first, top))
    assert seen["cached"] is False and seen["hits"][0]["id"] == "planted"

    # 3. a playbook record through the second replica reaches the first's playbook answers
    text = "night shift forklift operator"
    booked = MatrixQuery(corpora=[("workers", 1.0)], text=text, k=5, use_playbook=True)
    before = asyncio.run(search(first, booked))
    assert asyncio.run(search(first, booked))["cached"] is True
    target = before["hits"][-1]["id"]
    asyncio.run(second.matrix.record([Record(text, (target,), "success")], who="test"))
    time.sleep(fresh_s)
    after = asyncio.run(search(first, booked))
    assert after["cached"] is False and after["hits"][0]["id"] == target
    assert after["hits"][0]["explanation"]["playbook_boost"] > 0
    _drop_shards(settings, "workers", 2)
    _drop_shards(settings, "_playbook", 1)


PARTS = "part_no,title,notes,maker,weight_kg\n" + "".join(
    f"P{i:03d},{kind} {i},{kind} for {use},{maker},{i % 7}\n"
    for i, (kind, use, maker) in enumerate(
        [("hex bolt", "steel frames", "acme"), ("brass nut", "plumbing", "brassworks"),
         ("copper pipe", "plumbing", "brassworks"), ("wood screw", "furniture", "acme")] * 6
    )
)  # fmt: skip


def test_the_bulk_job_embeds_a_dataset_that_is_not_the_roster(settings, tmp_path, model_cache):
    register_csv(settings, tmp_path, "parts", PARTS)
    embed = EmbedConfig(cache_dir=model_cache)
    args = JobArgs(
        dataset="parts",
        corpus="parts",
        shards=1,
        id_column="part_no",
        text_template="{title}: {notes}",
        metadata_columns="maker,weight_kg",
    )
    summary = run(args, settings, embed)
    assert summary["rows_embedded"] == 24
    services = build_services(settings, "ray")
    corpus = asyncio.run(services.vectors.corpus("parts"))
    assert corpus.profile.dataset == "parts" and corpus.profile.id_column == "part_no"
    query = open_embedder_query(embed, "pipe for plumbing")
    hits = asyncio.run(services.vectors.search("parts", query, 3))["hits"]
    assert hits[0]["id"].startswith("P") and "copper pipe" in _title(hits[0]["id"])
    assert set(hits[0]["metadata"]) == {"maker", "weight_kg"}
    # the SQL pre-filter reads the corpus's own dataset and id column
    allowed = asyncio.run(_allow(services, "maker = 'acme'"))
    assert allowed and all(int(i[1:]) % 4 in (0, 3) for i in allowed)
    # a second run with another profile for the same corpus is refused, nothing changes
    with pytest.raises(Conflict, match="another profile"):
        run(JobArgs(**{**args.__dict__, "text_template": "{notes}"}), settings, embed)
    assert asyncio.run(services.vectors.sizes("parts")) == 24
    _drop_shards(settings, "parts", 1)


def _title(part_no: str) -> str:
    line = next(row for row in PARTS.splitlines() if row.startswith(part_no + ","))
    return line.split(",")[1]


async def _allow(services, predicate):
    from deployments.routes.matrix import _allow_list

    corpus = await services.vectors.corpus("parts")
    return await _allow_list(services, [corpus], predicate)


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"id_column": "sku"}, InvalidInput, "'sku'"),
        ({"metadata_columns": "maker,colour"}, InvalidInput, "'colour'"),
        ({"text_template": "nothing to embed"}, InvalidInput, "names no column"),
        ({"dataset": "nowhere"}, NotFound, "nowhere"),
    ],
)
def test_a_bad_profile_is_refused_before_anything_is_created(
    settings, tmp_path, model_cache, changes, error, words
):
    register_csv(settings, tmp_path, "parts", PARTS)
    args = {"dataset": "parts", "corpus": "parts", "id_column": "part_no",
            "text_template": "{title}", **changes}  # fmt: skip
    with pytest.raises(error, match=words):
        run(JobArgs(**args), settings, EmbedConfig(cache_dir=model_cache))
    with pytest.raises(NotFound):
        ray.get(registry_actor(settings).get.remote("parts"))
