"""The project's own metrics, published through ``ray.util.metrics``.

Ray exports them with the ``ray_`` prefix on every node's Prometheus endpoint (the metrics
agent; ``ray start --metrics-export-port`` / ``ray.init(_metrics_export_port=...)``), so
they show in the Ray dashboard and in ``deployments/grafana_dashboard.json``. The core
stays Ray-free: its objects count (``VectorShard.stats()``, ``ObserverRing.stats()``,
``PathwayStore.stats()``) and the actor and deployment layers publish those numbers here.

Outside Ray (the in-process API tests, ``build_services(settings, "local")``) every call is
a no-op, so nothing below can fail a request for want of a cluster. Metric objects are made
once per process, on first use.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray
from ray.util import metrics as ray_metrics

# milliseconds: a cached search (~1 ms) to a slow ingest or bulk batch (~minutes)
LATENCY_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 120_000]

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"
REFRESH_S = 5.0
# the last value of every gauge series this process set, re-sent by one daemon thread
_gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
_gauges_lock = threading.Lock()
_refresher: list[threading.Thread] = []

# name -> (kind, description, tag keys)
SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "lakehouse_http_requests": (COUNTER, "HTTP requests", ("route", "method", "status")),
    "lakehouse_http_latency_ms": (HISTOGRAM, "HTTP request latency", ("route", "method")),
    "lakehouse_ingest_rows": (COUNTER, "CSV rows ingested", ("dataset",)),
    "lakehouse_ingest_bytes": (COUNTER, "CSV bytes ingested", ("dataset",)),
    "lakehouse_sql_latency_ms": (HISTOGRAM, "SQL query latency", ("outcome",)),
    "lakehouse_sql_refusals": (COUNTER, "SQL queries refused", ("error",)),
    "lakehouse_vector_adds": (COUNTER, "vectors added", ("corpus", "shard")),
    "lakehouse_vector_searches": (COUNTER, "shard searches", ("corpus", "shard")),
    "lakehouse_vector_local_searches": (
        COUNTER,
        "searches answered from a replica's read copy of a shard",
        ("corpus", "shard"),
    ),
    "lakehouse_shard_vectors": (GAUGE, "vectors held by a shard", ("corpus", "shard")),
    "lakehouse_shard_log_bytes": (
        GAUGE,
        "bytes logged by a shard since its last snapshot",
        ("corpus", "shard"),
    ),
    "lakehouse_shard_snapshot_age_s": (
        GAUGE,
        "seconds since the shard's last snapshot (or since it loaded)",
        ("corpus", "shard"),
    ),
    "lakehouse_shard_recovery_s": (
        GAUGE,
        "seconds the shard took to load its snapshot and replay its log",
        ("corpus", "shard"),
    ),
    "lakehouse_bulk_rows_written": (COUNTER, "rows the bulk job wrote", ("dataset", "corpus")),
    "lakehouse_bulk_rows_per_s": (GAUGE, "bulk job write rate", ("dataset", "corpus")),
    "lakehouse_embed_batch_latency_ms": (
        HISTOGRAM,
        "latency of one embedding batch",
        ("where", "backend"),
    ),
    "lakehouse_validator_verdicts": (
        COUNTER,
        "validator verdicts",
        ("kind", "verdict", "error_class"),
    ),
    "lakehouse_playbook_records": (COUNTER, "playbook outcomes recorded", ("mode",)),
    "lakehouse_observer_ring_events": (GAUGE, "events held by the observer ring", ()),
    "lakehouse_observer_ring_fill": (GAUGE, "observer ring fill (0..1)", ()),
    "lakehouse_pathway_traces": (GAUGE, "pathway traces", ("state",)),
    "lakehouse_drift_statistic": (
        GAUGE,
        "the last drift report's statistics, by kind, with its verdict",
        ("kind", "statistic", "verdict"),
    ),
}


@functools.cache
def _metric(name: str) -> Any:
    kind, description, tag_keys = SPECS[name]
    if kind == HISTOGRAM:
        return ray_metrics.Histogram(name, description, boundaries=LATENCY_MS, tag_keys=tag_keys)
    cls = ray_metrics.Counter if kind == COUNTER else ray_metrics.Gauge
    return cls(name, description, tag_keys=tag_keys)


def in_actor() -> bool:
    """True inside a Ray actor process (where a publishing thread has a metrics agent)."""
    return ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None


def _tags(values: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in values.items()}


def inc(name: str, value: float = 1.0, **tags: Any) -> None:
    """Add ``value`` to a counter (no-op outside Ray, or for a zero)."""
    if value and ray.is_initialized():
        _metric(name).inc(value, tags=_tags(tags))


def set_gauge(name: str, value: float, **tags: Any) -> None:
    """Set a gauge; the value is re-sent every ``REFRESH_S`` until set again (Ray drops a
    gauge series that its process has not refreshed for two export intervals)."""
    if not ray.is_initialized():
        return
    strs = _tags(tags)
    _metric(name).set(value, tags=strs)
    with _gauges_lock:
        _gauges[(name, tuple(sorted(strs.items())))] = value
        if not _refresher:
            _refresher.append(threading.Thread(target=_refresh_forever, daemon=True))
            _refresher[0].start()


def _refresh_forever() -> None:
    while True:
        time.sleep(REFRESH_S)
        with _gauges_lock:
            latest = list(_gauges.items())
        for (name, tags), value in latest:
            _metric(name).set(value, tags=dict(tags))


def observe(name: str, value: float, **tags: Any) -> None:
    """Record one histogram observation."""
    if ray.is_initialized():
        _metric(name).observe(value, tags=_tags(tags))


@contextmanager
def timed_ms(name: str, **tags: Any) -> Iterator[dict[str, Any]]:
    """Observe the block's duration in milliseconds (also when it raises); the block may
    change the tags it is given (an outcome known only at the end)."""
    started = time.perf_counter()
    try:
        yield tags
    finally:
        observe(name, (time.perf_counter() - started) * 1000, **tags)


def shard_stats(corpus: str, shard: int, stats: dict[str, Any]) -> None:
    """Publish a shard's ``stats()`` (vectors, log bytes, snapshot age, recovery time)."""
    tags = {"corpus": corpus, "shard": shard}
    set_gauge("lakehouse_shard_vectors", stats["count"], **tags)
    set_gauge("lakehouse_shard_log_bytes", stats["log_bytes_since_snapshot"], **tags)
    set_gauge("lakehouse_shard_snapshot_age_s", stats["snapshot_age_s"], **tags)
    set_gauge("lakehouse_shard_recovery_s", stats["load_s"], **tags)


def verdict(kind: str, categories: list[str]) -> None:
    """Count one validator verdict: ``valid``, or one count per distinct error class."""
    if not categories:
        inc("lakehouse_validator_verdicts", kind=kind, verdict="valid", error_class="none")
    for category in sorted(set(categories)):
        inc("lakehouse_validator_verdicts", kind=kind, verdict="invalid", error_class=category)


def drift_statistics(report: dict[str, Any]) -> dict[str, float]:
    """The figures of a drift report worth a time series, by statistic name: p-values and the
    centroid distance (embedding), the smallest chi-square p-value (verdict), stale successes
    (playbook), breached figures (baseline)."""
    stats, kind = report["statistics"], report["kind"]
    if kind == "embedding":
        return {
            "centroid_cosine_distance": stats["centroid_cosine_distance"],
            "mmd2_p_value": stats["mmd2"]["p_value"],
        }
    if kind == "verdict":
        tests = [stats[n]["chi_square"] for n in ("status", "error_classes")]
        p_values = [t["p_value"] for t in tests if t is not None]
        return {"chi_square_min_p_value": min(p_values)} if p_values else {}
    if kind == "playbook":
        stale = ("removed", "changed_role", "no_longer_ranks")
        return {"stale_successes": sum(len(stats.get(name) or []) for name in stale)}
    return {"breaches": len(stats["breaches"])}


def drift(report: dict[str, Any]) -> None:
    """Publish a drift report as ``lakehouse_drift_statistic`` gauges tagged with its verdict;
    the other verdict's series of the same statistic stops being re-sent, so a chart shows
    the current verdict only."""
    if not ray.is_initialized():
        return
    kind, verdict_ = report["kind"], report["verdict"]
    name = "lakehouse_drift_statistic"
    for statistic, value in drift_statistics(report).items():
        with _gauges_lock:
            for key in [k for k in _gauges if k[0] == name]:
                tags = dict(key[1])
                if (tags["kind"], tags["statistic"]) == (kind, statistic):
                    del _gauges[key]
        set_gauge(name, float(value), kind=kind, statistic=statistic, verdict=verdict_)
