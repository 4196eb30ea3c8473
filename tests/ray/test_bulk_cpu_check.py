"""The bulk job refuses a cluster with no node that has room for its pipeline, before anything
is created (Ray Data would otherwise wait for a CPU forever, without a word)."""

import pickle

import pytest
import ray

from actors.jobs.bulk_embed import JobArgs, _stages, run
from actors.jobs.placement import Stage, check_cpus, cpu_refusal, unplaced
from lakehouse.embed import EmbedConfig
from lakehouse.errors import NotFound, Unavailable
from lakehouse.storage import open_store
from tests.ray.test_bulk_embed import register

READ, SKIP = Stage("read task", 1.0), Stage("skip actor", 0.05)
EMBED, WRITE = Stage("embed actor", 0.25), Stage("write actor", 0.05)
JOB = [READ, SKIP, EMBED, WRITE]  # the job's defaults: 1.35 CPUs at once


@pytest.mark.parametrize(
    "free, stages, missing",
    [
        ([2.0], JOB, None),  # an idle 2-CPU node
        ([1.35], JOB, None),  # exactly enough (0.05 + 0.25 + 0.05 sums inexactly)
        ([1.0], JOB, EMBED),  # two 0.5-CPU Serve replicas on 2 CPUs: the reported hang
        ([1.0, 0.5], JOB, None),  # the read on one node, the actors on the other
        ([0.75, 0.75], JOB, READ),  # 1.5 CPUs free, but no whole CPU on one node
        ([], JOB, READ),  # no live node
        ([4.0], [READ, Stage("embed actor", 0.25, 12)], None),
        ([4.0], [READ, Stage("embed actor", 0.25, 13)], Stage("embed actor", 0.25, 13)),
        ([0.0], [Stage("free", 0.0, 3)], None),
    ],
)
def test_unplaced_is_the_first_stage_with_no_room(free, stages, missing):
    assert unplaced(free, stages) == missing


def test_the_refusal_names_what_is_asked_and_what_is_free():
    message = cpu_refusal(JOB, [(1.0, 2.0), (0.5, 4.0)], 5.0)
    assert "needs 1.35 CPUs (1 read task x 1 CPU, 1 skip actor x 0.05 CPU" in message
    assert "the best has 1 of its 2 CPUs free, the cluster 1.5 of 6 (waited 5 s)" in message
    assert "LAKEHOUSE_REPLICAS" in message and "--embed-cpus" in message


def test_the_job_s_stages_follow_its_options():
    stages = _stages(JobArgs(concurrency=3, embed_cpus=0.5))
    assert sum(s.cpus * s.count for s in stages) == pytest.approx(1.0 + 0.05 + 1.5 + 0.05)


@ray.remote(num_cpus=1.5)
class Holder:
    """A long-lived actor holding CPUs, as Serve replicas do."""

    def ready(self) -> bool:
        return True


@pytest.mark.usefixtures("ray_session")
@pytest.mark.timeout(120)  # without the check the job waits for a CPU forever
def test_a_cluster_without_room_is_refused_before_anything_is_created(
    settings, tmp_path, model_cache
):
    from actors.vectors import registry_actor

    register(settings, tmp_path, "crowded", 20)
    store = open_store(settings)
    before = sorted(o.key for o in store.iter_all("vectors/"))
    holder = Holder.remote()  # 0.5 of the session's 2 CPUs left: no room for a read task
    try:
        ray.get(holder.ready.remote())
        args = JobArgs(dataset="crowded", corpus="starved", wait_for_cpus_s=1.0)
        with pytest.raises(Unavailable, match=r"needs 1\.35 CPUs .* the best has 0\.5 of its"):
            run(args, settings, EmbedConfig(cache_dir=model_cache))
    finally:
        ray.kill(holder)
    with pytest.raises(NotFound):
        ray.get(registry_actor(settings).get.remote("starved"))
    assert sorted(o.key for o in store.iter_all("vectors/")) == before


@pytest.mark.usefixtures("ray_session")
def test_a_cluster_with_room_passes_and_the_refusal_crosses_processes():
    check_cpus(JOB, wait_s=30.0)  # the session's 2 CPUs (waits for earlier tests' workers)
    with pytest.raises(Unavailable) as refused:
        check_cpus([Stage("read task", 64.0)], wait_s=0.0)
    again = pickle.loads(pickle.dumps(refused.value))
    assert again.status == 503 and again.message == refused.value.message
    assert "needs 64 CPUs (1 read task x 64 CPU)" in again.message
