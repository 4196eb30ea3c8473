"""Drift reports on the staffing generator with the real embedder: a planted role-mix shift
is flagged at p < 0.01, two independent samples of one distribution are not (>= 19 of 20);
playbook drift names removed and re-roled workers; verdict and baseline drift; bad input."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from lakehouse.catalog import Catalog
from lakehouse.catalog.manifest import columns_of
from lakehouse.distill import Materializer
from lakehouse.drift import (
    DriftReporter,
    DriftRequest,
    DriftThresholds,
    Window,
    chi_square,
    mmd_test,
)
from lakehouse.embed import EmbedConfig
from lakehouse.embed.onnx_embedder import OnnxEmbedder
from lakehouse.errors import InvalidInput, NotFound, Unavailable
from lakehouse.staffing import generate_batches
from lakehouse.vectors.profile import STAFFING

POOL = 1200
N = 150  # rows per side


@pytest.fixture(scope="module")
def pool(model_cache):
    """1,600 generated profiles, embedded once: (rows, unit vectors)."""
    rows = pa.Table.from_batches(list(generate_batches(POOL))).to_pylist()
    with OnnxEmbedder.open(EmbedConfig(cache_dir=model_cache)) as embedder:
        vectors = embedder.embed_documents([STAFFING.row_text(r) for r in rows])
    return rows, vectors


def shifted(rows, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Window a: any profiles; window b: profiles of the 8 commonest roles only."""
    top = {r for r, _ in Counter(r["role"] for r in rows).most_common(8)}
    heavy = [i for i, r in enumerate(rows) if r["role"] in top]
    rng = np.random.default_rng(seed)
    return rng.choice(len(rows), N, replace=False), rng.choice(heavy, N, replace=False)


def test_a_planted_role_mix_shift_is_flagged(pool):
    rows, vectors = pool
    for seed in range(3):
        a, b = shifted(rows, seed)
        assert mmd_test(vectors[a], vectors[b], permutations=500, seed=seed).p_value < 0.01


def test_two_samples_of_one_distribution_are_not_flagged_in_19_of_20(pool):
    _, vectors = pool
    flagged = 0
    for trial in range(20):
        order = np.random.default_rng(100 + trial).permutation(len(vectors))
        a, b = order[:N], order[N : 2 * N]  # disjoint: two independent draws
        flagged += mmd_test(vectors[a], vectors[b], permutations=300, seed=trial).p_value < 0.01
    assert flagged <= 1


def test_chi_square_sees_a_changed_verdict_mix_and_not_a_same_one():
    a = Counter(accepted=80, exhausted=20)
    assert chi_square(a, Counter(accepted=40, exhausted=60)).p_value < 0.01
    assert chi_square(a, Counter(accepted=79, exhausted=21)).p_value > 0.5
    assert chi_square(Counter(accepted=3), Counter(accepted=5)) is None


def register(catalog, store, name: str, table: pa.Table, tmp) -> None:
    path = tmp / f"{name}.parquet"
    import pyarrow.parquet as pq

    pq.write_table(table, path)
    store.put_file(f"staging/{name}.parquet", path)
    catalog.register(name, columns_of(table.schema), table.num_rows, f"staging/{name}.parquet")


@pytest.fixture
def world(local_store, tmp_path, pool):
    rows, vectors = pool
    catalog = Catalog(local_store)
    then = pa.Table.from_pylist(rows[:200])
    now_rows = [dict(r) for r in rows[:200] if r["worker_id"] not in ("W0000003", "W0000007")]
    for r in now_rows:
        if r["worker_id"] == "W0000010":
            r["role"] = "Astronaut"
    register(catalog, local_store, "roster_then", then, tmp_path)
    register(catalog, local_store, "roster_now", pa.Table.from_pylist(now_rows), tmp_path)
    for n, ids in enumerate((["W0000003", "W0000004"], ["W0000010"], ["W0000011"])):
        rec = {"record_id": f"r{n}", "query": f"q{n}", "ids": ids, "outcome": "success",
               "when": "2026-11-20T10:00:00+00:00"}  # fmt: skip
        local_store.put(f"playbooks/_playbook/r{n}.json", json.dumps(rec).encode())
    failure = {"record_id": "r9", "query": "q9", "ids": ["W0000007"], "outcome": "failure",
               "when": "2026-11-20T10:00:00+00:00"}  # fmt: skip
    local_store.put("playbooks/_playbook/r9.json", json.dumps(failure).encode())
    by_text = {r["resume"]: v for r, v in zip(rows, vectors, strict=True)}

    def embed(texts):
        return np.stack([by_text[t] for t in texts])

    def search(corpus, query, k):
        """Retrieval now: q1's worker still ranks, q2's (W0000011) has fallen out."""
        assert corpus == "workers"
        return {"q0": ["W0000004"], "q1": ["W0000010"], "q2": ["W0000012"]}[query][:k]

    reporter = DriftReporter(local_store, {m.name: m for m in catalog.list()}, embed,
                             roster_columns=("worker_id", "role"), search=search)  # fmt: skip
    return reporter, catalog


def test_playbook_drift_names_every_success_whose_worker_left_or_changed_role(world):
    reporter, _ = world
    report = reporter.report(DriftRequest(kind="playbook", a={"dataset": "roster_then"},
                                          b={"dataset": "roster_now"}))  # fmt: skip
    stats = report["statistics"]
    assert [(e["record_id"], e["id"]) for e in stats["removed"]] == [("r0", "W0000003")]
    assert [(e["id"], e["role_now"]) for e in stats["changed_role"]] == [("W0000010", "Astronaut")]
    assert report["drifted"] and report["sample_sizes"]["successes"] == 3  # r9 is a failure
    assert stats["no_longer_ranks"] == [] and not stats["rank_check"]


def test_playbook_drift_names_successes_that_no_longer_rank(world, local_store):
    reporter, _ = world
    req = DriftRequest(kind="playbook", b={"dataset": "roster_then"}, rank_corpus="workers")
    stats = reporter.report(req)["statistics"]
    # in this roster every worker is still there with the same role; r0's W0000004 and r1's
    # W0000010 still rank for their queries, W0000003 and W0000011 have fallen out
    unranked = [(e["record_id"], e["id"]) for e in stats["no_longer_ranks"]]
    assert unranked == [("r0", "W0000003"), ("r2", "W0000011")]
    assert stats["removed"] == [] and stats["changed_role"] == []
    assert stats["rank_check"] and stats["rank_unchecked"] == 0
    capped = reporter.report(req.model_copy(update={"sample": 10, "rank_k": 1}))
    assert capped["sample_sizes"]["queries_searched"] == 3
    reporter.search = None
    with pytest.raises(Unavailable):
        reporter.report(req)


def test_malformed_owned_objects_are_reported_and_skipped(world, local_store, settings):
    """Forged objects written straight to the store (the routes refuse owned prefixes)."""
    reporter, catalog = world
    local_store.put("playbooks/_playbook/r5.json", b"{not json")
    local_store.put("playbooks/_playbook/r6.json", json.dumps({"record_id": 6}).encode())
    req = DriftRequest(kind="playbook", a={"dataset": "roster_then"}, b={"dataset": "roster_now"})
    report = reporter.report(req)
    assert report["sample_sizes"]["successes"] == 3
    assert [s["key"] for s in report["statistics"]["skipped_records"]] == [
        "playbooks/_playbook/r5.json", "playbooks/_playbook/r6.json"]  # fmt: skip
    good = {"name": "ok", "window": {"dataset": "roster_now"}, "figures": {"n": 10},
            "saved_at": "2026-11-20T10:00:00+00:00"}  # fmt: skip
    local_store.put("drift/baselines/ok.json", json.dumps(good).encode())
    local_store.put("drift/baselines/torn.json", b'{"name": "torn", "fig')
    bad_figure = {**good, "name": "odd", "figures": {"accepted_rate": "high"}}
    local_store.put("drift/baselines/odd.json", json.dumps(bad_figure).encode())
    listed = reporter.baselines()
    assert [b["name"] for b in listed["baselines"]] == ["ok"]
    assert [s["key"] for s in listed["skipped"]] == [
        "drift/baselines/odd.json", "drift/baselines/torn.json"]  # fmt: skip
    for name in ("torn", "odd"):
        with pytest.raises(NotFound, match="unreadable"):
            reporter.report(DriftRequest(kind="baseline", baseline=name, b={"dataset": "x"}))
    mat = Materializer(local_store, settings.logs_dir, settings.tmp_dir)
    receipt = mat.run(catalog)
    local_store.put("distill/receipts/9999999999999-forged.json", b"[1, 2]")
    brief = mat.receipts()
    assert [r["run_id"] for r in brief["receipts"]] == [receipt["run_id"]]
    assert brief["skipped"][0]["key"] == "distill/receipts/9999999999999-forged.json"
    with pytest.raises(NotFound, match="unreadable"):
        mat.receipt("9999999999999-forged")
    assert mat.receipt(receipt["run_id"])["run_id"] == receipt["run_id"]


def test_embedding_report_flags_the_shifted_pair_of_datasets_only(world, pool, tmp_path):
    reporter, catalog = world
    rows, _ = pool
    a, b = shifted(rows, 5)
    order = np.random.default_rng(6).permutation(len(rows))
    parts = {"shift_a": a, "shift_b": b, "same_a": order[:N], "same_b": order[N : 2 * N]}
    for name, picked in parts.items():
        table = pa.Table.from_pylist([rows[i] for i in picked])
        register(catalog, reporter.store, name, table, tmp_path)
    reporter.manifests = {m.name: m for m in catalog.list()}

    def report(x: str, y: str) -> dict:
        return reporter.report(DriftRequest(kind="embedding", a={"dataset": x},
                                            b={"dataset": y}, column="resume", sample=N))  # fmt: skip

    shifted_report, same_report = report("shift_a", "shift_b"), report("same_a", "same_b")
    assert shifted_report["verdict"] == "drift" and same_report["verdict"] == "no_drift"
    assert shifted_report["sample_sizes"] == {"a": N, "b": N}
    stats = shifted_report["statistics"]
    assert stats["mmd2"]["p_value"] < 0.01 and stats["mmd2"]["permutations"] == 500
    assert stats["centroid_cosine_distance"] > same_report["statistics"]["centroid_cosine_distance"]
    reporter.embed = None
    with pytest.raises(Unavailable):
        report("shift_a", "shift_b")


def test_bad_input_is_refused_with_a_clear_message(world, local_store):
    reporter, _ = world
    before = sorted(o.key for o in local_store.iter_all(""))
    with pytest.raises(NotFound, match="no data for dataset 'nope'"):
        reporter.report(DriftRequest(kind="verdict", a={"dataset": "nope"}, b={"dataset": "nope"}))
    with pytest.raises(NotFound, match="run POST /v1/distill/materialize"):
        window = {"transform": "sessions", "start": "2026-01-01", "end": "2026-01-02"}
        reporter.report(DriftRequest(kind="verdict", a=window, b=window))
    with pytest.raises(InvalidInput, match="needs windows"):
        reporter.report(DriftRequest(kind="verdict", a={"dataset": "roster_now"}))
    with pytest.raises(InvalidInput, match="no column"):
        reporter.report(DriftRequest(kind="verdict", a={"dataset": "roster_now"},
                                     b={"dataset": "roster_now"}))  # fmt: skip
    with pytest.raises(NotFound, match="no baseline named"):
        reporter.report(DriftRequest(kind="baseline", baseline="b1", b={"dataset": "roster_now"}))
    with pytest.raises(NotFound, match="no playbook records"):
        reporter.report(DriftRequest(kind="playbook", corpus="other", b={"dataset": "roster_now"}))
    for bad in ({"alpha": 2}, {"alpha": "x"}, {"permutations": 5}, {"nope": 1}):
        with pytest.raises(ValidationError):
            DriftThresholds(**bad)
    for window in ({"transform": "bogus", "start": "2026-01-01", "end": "2026-01-01"},
                   {"transform": "sessions", "start": "2026-01-02", "end": "2026-01-01"},
                   {"dataset": "a", "transform": "sessions"}, {}):  # fmt: skip
        with pytest.raises(ValidationError):
            DriftRequest(kind="verdict", a=window, b=window)
    assert sorted(o.key for o in local_store.iter_all("")) == before


def session_line(day: int, i: int, first_ok: bool, latency: float) -> str:
    """A ``session.iterate.v1`` record as the iterate loop writes it (fields it reads)."""
    iso = f"2026-11-{day:02d}T10:00:{i % 60:02d}.000+00:00"
    statuses = ["accepted"] if first_ok else ["rejected", "accepted" if i % 2 else "rejected"]
    errors = [{"Consistency": {"reason": "phantom"}}]
    attempts = [{"n": k + 1, "prompt": "p", "raw": "{}", "status": s, "latency_ms": latency,
                 "errors": [] if s == "accepted" else errors} for k, s in enumerate(statuses)]  # fmt: skip
    status = "accepted" if statuses[-1] == "accepted" else "exhausted"
    return json.dumps({"schema": "session.iterate.v1", "session_id": f"{day}-{i}",
                       "trace_id": f"t{i}", "started_at": iso, "finished_at": iso,
                       "model": "m", "kind": "fill", "max_iter": 2, "attempts": attempts,
                       "status": status, "grounded_in_roster": status == "accepted"})  # fmt: skip


@pytest.fixture
def two_days(settings, local_store):
    """Day 20: 80% accepted at the first shot; day 21: 40%, and slower."""
    settings.logs_dir.mkdir(parents=True)
    with open(settings.logs_dir / "sessions.iterate.jsonl", "w") as fh:
        for i in range(100):
            fh.write(session_line(20, i, i % 10 < 8, 800.0) + "\n")
            fh.write(session_line(21, i, i % 10 < 4, 1200.0) + "\n")
    catalog = Catalog(local_store)
    Materializer(local_store, settings.logs_dir, settings.tmp_dir).run(catalog, ["sessions"])
    return DriftReporter(local_store, {m.name: m for m in catalog.list()})


def day(n: int) -> dict:
    return {"transform": "sessions", "start": f"2026-11-{n:02d}", "end": f"2026-11-{n:02d}"}


def test_verdict_drift_between_two_days_of_sessions(two_days):
    report = two_days.report(DriftRequest(kind="verdict", a=day(20), b=day(21)))
    assert report["drifted"] and report["sample_sizes"] == {"a": 100, "b": 100}
    assert report["statistics"]["status"]["chi_square"]["p_value"] < 0.01
    assert report["statistics"]["error_classes"]["chi_square"] is None  # one class only
    same = two_days.report(DriftRequest(kind="verdict", a=day(20), b=day(20)))
    assert same["verdict"] == "no_drift"


def test_baseline_drift_names_the_figures_that_fell(two_days, local_store):
    saved = two_days.save_baseline("day20", Window(**day(20)))
    assert saved["figures"]["first_shot_rate"] == 0.8
    report = two_days.report(DriftRequest(kind="baseline", baseline="day20", b=day(21)))
    assert {b["figure"] for b in report["statistics"]["breaches"]} == {
        "accepted_rate", "first_shot_rate", "grounded_rate", "p50_latency_ms"}  # fmt: skip
    loose = DriftThresholds(max_rate_drop=0.5, max_latency_rise=3.0)
    relaxed = DriftRequest(kind="baseline", baseline="day20", b=day(21), thresholds=loose)
    assert two_days.report(relaxed)["verdict"] == "no_drift"
    assert two_days.report(DriftRequest(kind="baseline", baseline="day20", b=day(20)))[
        "verdict"] == "no_drift"  # fmt: skip
