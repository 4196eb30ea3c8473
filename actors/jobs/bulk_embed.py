"""Bulk embedding: a catalog dataset's rows → text → vectors → the corpus's shard actors.

    python -m actors.jobs.bulk_embed --dataset workers --corpus workers
    ray job submit --working-dir . -- python -m actors.jobs.bulk_embed --dataset workers

The corpus's profile (``lakehouse.vectors.profile``) says which column is the id, how the
text columns are joined into the embedded text and which columns are kept as metadata: the
existing corpus's, else ``--id-column`` / ``--text-template`` / ``--metadata-columns``, else
the staffing profile. Every column it names is checked against the dataset before anything
is created, and so are ``--num-gpus`` (some node must have them) and the CPUs the pipeline
asks at once (some node must have room within ``--wait-for-cpus-s``, or Ray Data would wait
forever). Ray Data's read tasks read the dataset's Parquet where it lives (``s3://`` through
pyarrow, or the local directory; no copy on the driver's disk), a class UDF skips rows whose
ids are already indexed (so a re-run is idempotent and a killed job resumes where it stopped), a
class UDF embeds (``--concurrency`` embedders of ``--batch-size`` rows, ``--num-gpus`` each
when configured: then only on GPU nodes, each calling its own node's Ollama;
``actors.jobs.placement``), and a class UDF writes the vectors to the shard actors in batches. Ray
Data shows the progress bar; a summary (rows, seconds, rows/s) closes the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import ray
import tenacity
from ray.data import ActorPoolStrategy

from actors import NAMESPACE, metrics
from actors.jobs.placement import Stage, check_cpus, check_gpus, node_embed_config, probe_dim
from actors.remote.corpus_router import remote_router
from actors.services import build_services
from lakehouse.embed import EmbedConfig, open_embedder
from lakehouse.embed.onnx_embedder import usable_cores
from lakehouse.errors import Conflict, NotFound, Unavailable
from lakehouse.settings import Settings
from lakehouse.storage.arrow import arrow_source
from lakehouse.vectors.profile import STAFFING, CorpusProfile
from lakehouse.vectors.registry import Corpus, make_corpus

# how long a write or lookup waits for a lost shard to come back (a node's loss is noticed
# after Ray's health checks miss it, then the actor restores itself on another node)
RESTART_WAIT_S = 180.0
# Ray Data's list and read tasks take a whole CPU each (2.60 ignores a smaller request)
READ_CPUS = 1.0
# the skip and write stages only wait on shard actors: a sliver of CPU each, so the
# embedders get the cores (three whole-CPU stages would deadlock a 2-core machine)
ROUTER_CPUS = 0.05


@dataclass
class JobArgs:
    dataset: str = "workers"
    corpus: str = "workers"
    # the profile of a new corpus (None: the staffing profile's); an existing corpus keeps its own
    id_column: str | None = None
    text_template: str | None = None
    metadata_columns: str | None = None  # comma-separated
    shards: int = 2
    batch_size: int = 64
    concurrency: int = 1
    num_gpus: float = 0.0
    embed_cpus: float = 0.25
    write_batch: int = 1000
    limit: int | None = None
    block_mib: int = 4  # Ray Data block size: rows reach the shards (and the bar) in steps this big
    progress_every_s: float = 15.0
    wait_for_cpus_s: float = 5.0  # how long a cluster without room for the job is waited on


class _RouterUser:
    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.router = remote_router(settings)

    def run(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run a router call, retried while a shard or registry actor is restarting (its node
        was lost: Ray brings it back elsewhere from the object store). Adds replace by id and
        lookups only read, so a retry is safe; past ``RESTART_WAIT_S`` the job fails and a
        re-submit resumes it."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Unavailable),
            wait=tenacity.wait_exponential(multiplier=0.5, max=5),
            stop=tenacity.stop_after_delay(RESTART_WAIT_S),
            reraise=True,
        )
        return retrying(lambda: self.loop.run_until_complete(call()))


class SkipIndexed(_RouterUser):
    """Drops rows whose id the corpus already holds."""

    def __init__(self, settings: Settings, corpus: str, profile: CorpusProfile) -> None:
        super().__init__(settings)
        self.corpus, self.id_column = corpus, profile.id_column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = [str(i) for i in batch[self.id_column]]
        present = self.run(lambda: self.router.contains(self.corpus, ids))
        keep = ~np.asarray(present, dtype=bool)
        return {name: column[keep] for name, column in batch.items()}


class Embed:
    """Row batches → ``vector`` column (one embedder per UDF instance)."""

    def __init__(self, config: EmbedConfig, profile: CorpusProfile) -> None:
        self.embedder = open_embedder(node_embed_config(config))  # this node's Ollama
        self.profile = profile
        self.backend = config.backend

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [
            dict(zip(batch, values, strict=True)) for values in zip(*batch.values(), strict=True)
        ]
        texts = [self.profile.row_text(r) for r in rows]
        with metrics.timed_ms(
            "lakehouse_embed_batch_latency_ms", where="bulk", backend=self.backend
        ):
            vectors = self.embedder.embed_documents(texts)
        # pass on only what the writer needs: the long text columns stay behind
        keep = {self.profile.id_column, *self.profile.metadata_columns}
        kept = {c: v for c, v in batch.items() if c in keep}
        return {**kept, "vector": np.asarray(vectors, dtype=np.float32)}


class Write(_RouterUser):
    """Vectors and metadata → the shard actors; returns how many rows were written."""

    def __init__(self, settings: Settings, corpus: str, profile: CorpusProfile) -> None:
        super().__init__(settings)
        self.corpus, self.id_column = corpus, profile.id_column
        self.meta_columns = profile.metadata_columns

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = [str(i) for i in batch[self.id_column]]
        meta = [
            {c: _plain(batch[c][i]) for c in self.meta_columns if c in batch}
            for i in range(len(ids))
        ]
        if ids:
            self.run(lambda: self.router.add(self.corpus, ids, batch["vector"], meta))
        return {"written": np.asarray([len(ids)])}


def run(args: JobArgs, settings: Settings | None = None, embed: EmbedConfig | None = None) -> dict:
    """Run the job on the connected Ray cluster; returns the summary.

    Raises:
        NotFound: the dataset is not in the catalog.
        InvalidInput: the profile names a column the dataset lacks, or no text column.
        Conflict: the corpus exists with another profile or width.
        Unavailable: no live node has room for the pipeline (``check_cpus``).
    """
    settings = settings or Settings()
    embed = embed or settings.embed
    started = time.perf_counter()
    services = build_services(settings, "ray")
    manifest = services.catalog.call_sync("get", args.dataset)
    existing = _existing(services.vectors.registry, args.corpus)
    profile = _profile(args, existing)
    profile.check_columns([c.name for c in manifest.columns], args.dataset)  # before anything
    source = arrow_source(settings, services.store, manifest.object_key)  # read in place
    check_gpus(args.num_gpus)
    check_cpus(_stages(args), args.wait_for_cpus_s)
    if embed.threads is None and args.concurrency > 1:  # the embedders share the cores
        embed = embed.model_copy(update={"threads": max(1, usable_cores() // args.concurrency)})
    dim = probe_dim(embed, args.num_gpus)  # where the embedders will run
    if existing is None:
        corpus = make_corpus(args.corpus, dim, "cosine", args.shards, profile=profile)
        asyncio.run(services.vectors.registry.create(corpus))
    elif existing.dim != dim:
        raise Conflict(f"corpus {args.corpus!r} holds {existing.dim}-d vectors, not {dim}-d")
    context = ray.data.DataContext.get_current()
    default_block = context.target_max_block_size
    # Ray Data's default (128 MiB) blocks hold ~80k embedded rows: the writes, the progress
    # and a resumed run would move in steps of minutes. A dataset keeps the context it was
    # created with, so the default is put back right after.
    context.target_max_block_size = args.block_mib * 1024 * 1024
    try:
        ds = _pipeline(args, source, profile, settings, embed)
    finally:
        context.target_max_block_size = default_block
    total = min(args.limit or manifest.row_count, manifest.row_count)
    tags = {"dataset": args.dataset, "corpus": args.corpus}
    written = _drain(ds, total, started, args.progress_every_s, tags)
    seconds = time.perf_counter() - started
    return {
        "dataset": args.dataset,
        "corpus": args.corpus,
        "rows_total": total,
        "rows_embedded": written,
        "rows_skipped_already_indexed": total - written,
        "seconds": round(seconds, 2),
        "rows_per_s": round(written / seconds, 1) if seconds else None,
    }


def _existing(registry: Any, name: str) -> Corpus | None:
    try:
        return asyncio.run(registry.get(name))
    except NotFound:
        return None


def _profile(args: JobArgs, existing: Corpus | None) -> CorpusProfile:
    """The existing corpus's profile, else one from the arguments over the staffing one."""
    given = {
        "id_column": args.id_column,
        "text_template": args.text_template,
        "metadata_columns": None
        if args.metadata_columns is None
        else tuple(c.strip() for c in args.metadata_columns.split(",") if c.strip()),
    }
    given = {k: v for k, v in given.items() if v is not None}
    if existing is not None:
        own = existing.profile
        if any(getattr(own, k) != v for k, v in given.items()):
            raise Conflict(f"corpus {args.corpus!r} exists with another profile: {own.to_dict()}")
        if own.dataset not in (None, args.dataset):
            raise Conflict(f"corpus {args.corpus!r} is built from dataset {own.dataset!r}")
        return own
    return replace(STAFFING, **given, dataset=args.dataset).check()


def _stages(args: JobArgs) -> list[Stage]:
    """What the pipeline asks of Ray at once: a read task and every actor of its pools."""
    return [
        Stage("read task", READ_CPUS),
        Stage("skip actor", ROUTER_CPUS),
        Stage("embed actor", args.embed_cpus, args.concurrency),
        Stage("write actor", ROUTER_CPUS),
    ]


def _pipeline(
    args: JobArgs,
    source: tuple[str, Any],
    profile: CorpusProfile,
    settings: Settings,
    embed: EmbedConfig,
) -> ray.data.Dataset:
    path, filesystem = source
    columns = list(profile.columns)
    ds = ray.data.read_parquet(path, filesystem=filesystem, columns=columns, num_cpus=READ_CPUS)
    if args.limit:
        ds = ds.limit(args.limit)
    router_args = (settings, args.corpus, profile)
    writes = {
        "batch_size": args.write_batch,
        "batch_format": "numpy",
        "compute": ActorPoolStrategy(size=1),
        "num_cpus": ROUTER_CPUS,
    }
    gpus = {"num_gpus": args.num_gpus} if args.num_gpus else {}
    # embedders and Serve replicas asking for whole CPUs would starve the read tasks
    # (READ_CPUS) on a 2-core node, so the embedders ask for a quarter. onnxruntime's
    # threads are not bound by this number; it only steers scheduling (raise --embed-cpus
    # on big or GPU nodes).
    ds = ds.map_batches(SkipIndexed, fn_constructor_args=router_args, **writes)
    ds = ds.map_batches(
        Embed,
        fn_constructor_args=(embed, profile),
        batch_size=args.batch_size,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=args.concurrency),
        num_cpus=args.embed_cpus,
        **gpus,
    )
    return ds.map_batches(Write, fn_constructor_args=router_args, **writes)


def _drain(
    ds: ray.data.Dataset, total: int, started: float, every_s: float, tags: dict[str, str]
) -> int:
    """Run the pipeline; a progress line (rows written, rate, time left) every ``every_s``,
    and the ``lakehouse_bulk_*`` metrics after every block."""
    written, shown = 0, time.perf_counter()
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):  # as they come
        rows = int(batch["written"].sum())
        written += rows
        now = time.perf_counter()
        metrics.inc("lakehouse_bulk_rows_written", rows, **tags)
        metrics.set_gauge("lakehouse_bulk_rows_per_s", written / (now - started), **tags)
        if now - shown >= every_s:
            shown = now
            rate = written / (now - started)
            left = (total - written) / rate if rate else float("inf")
            print(
                f"bulk_embed: {written}/{total} rows written, {rate:.0f} rows/s, "
                f"~{left / 60:.1f} min left (at most; already indexed rows are skipped)",
                flush=True,
            )
    return written


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


_NONE_DEFAULT_TYPES = {"id_column": str, "text_template": str, "metadata_columns": str}


def parse_args(argv: list[str] | None = None) -> JobArgs:
    parser = argparse.ArgumentParser(description="Embed a catalog dataset into a corpus")
    for name, default in asdict(JobArgs()).items():
        kind = type(default) if default is not None else _NONE_DEFAULT_TYPES.get(name, int)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default)
    return JobArgs(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not ray.is_initialized():
        ray.init(namespace=NAMESPACE, ignore_reinit_error=True)
    summary = run(args)
    print(json.dumps(summary, indent=2))
    print(
        f"embedded {summary['rows_embedded']} rows ({summary['rows_skipped_already_indexed']} "
        f"already indexed) in {summary['seconds']} s, {summary['rows_per_s']} rows/s"
    )


if __name__ == "__main__":
    main()
