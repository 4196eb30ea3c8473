"""The materializer over real logs: iterate sessions written by the real loop with a scripted
provider, observer events from the real ring and sink, pathway events from the real store,
playbook audit objects; evidence in the catalog, queried with SQL; idempotent; receipts."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakehouse.catalog import Catalog
from lakehouse.distill import Materializer, dataset_name
from lakehouse.distill.materialize import check_base, current_manifest
from lakehouse.distill.replay import replay_log
from lakehouse.distill.sources import OBSERVER_FILE, PATHWAY_PREFIX, SESSION_LOG_FILE
from lakehouse.errors import Conflict, InvalidInput, NotFound
from lakehouse.guard import InMemoryRoster, Validator
from lakehouse.iterate import IterateLoop, IterateRequest, SessionLog
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.observer import JsonlFileSink, ObserverRing
from lakehouse.observer.store_sink import ObjectStoreSink
from lakehouse.pathway import ObjectStoreLog, PathwayStore
from lakehouse.sql import SqlEngine, SqlLimits
from lakehouse.sql.engine import views_for
from lakehouse.staffing import generate_batches
from tests.fakes.scripted_chat import ScriptedProvider

DAY = 1_795_000_000.0  # 2026-11-18T...Z
DAY_NAME = "20261118"


@pytest.fixture(scope="module")
def roster_rows() -> list[dict[str, Any]]:
    return pa.Table.from_batches(list(generate_batches(200))).to_pylist()


def fill_prompt_and_pins(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    lead = next(r for r in rows if r["available"])
    crew = [r for r in rows if r["available"] and (r["role"], r["city"], r["state"])
            == (lead["role"], lead["city"], lead["state"])]  # fmt: skip
    pins = {"role": lead["role"], "location": f"{lead['city']}, {lead['state']}",
            "target_count": 1}  # fmt: skip
    return pins, [r["worker_id"] for r in crew]


def write_sessions(
    logs: Path, rows: list[dict[str, Any]], n: int, start: int = 0, log: Any = None
) -> None:
    """``n`` fill sessions: even ones accepted at once, odd ones after a phantom first try;
    appended to ``log``, by default the node-local file of versions before the store's log."""
    pins, crew = fill_prompt_and_pins(rows)
    ids = itertools.count(start)
    log = log or SessionLog(logs / SESSION_LOG_FILE)
    validator = Validator(InMemoryRoster(rows))
    for i in range(start, start + n):
        good = json.dumps({"candidates": [{"worker_id": crew[0]}]})
        phantom = json.dumps({"candidates": [{"worker_id": "W-PHANTOM"}]})
        script = [good] if i % 2 == 0 else [phantom, good]
        loop = IterateLoop(ScriptedProvider(script), validator, log,
                           new_id=lambda: f"s{next(ids):05d}")  # fmt: skip
        req = IterateRequest(model="small-model", kind="fill", prompt=f"need {i}", pinned=pins)
        loop.run(req, trace_id=f"trace-{i}")


@pytest.fixture
def world(settings, local_store, roster_rows):
    logs = settings.logs_dir
    write_sessions(logs, roster_rows, 4)
    ring = ObserverRing(100, sink=ObjectStoreSink(local_store), clock=lambda: DAY)
    ring.emit("http.request", {"route": "/v1/sql", "status": 200, "duration_ms": 3.5},
              trace_id="t-obs")  # fmt: skip
    ring.emit("workflow.run", {"status": "ok"})
    pathway = PathwayStore(ObjectStoreLog(local_store, PATHWAY_PREFIX))
    pathway.add({"note": "placed"}, ["fill"], trace_id="t-path")
    record = {"record_id": "000000000000001-0000-abc", "query": "forklift", "ids": ["W1"],
              "outcome": "success", "weight": 1.0, "who": "test", "when": "x", "when_ts": DAY}  # fmt: skip
    local_store.put(
        "playbooks/_playbook/000000000000001-0000-abc.json", json.dumps(record).encode()
    )
    replay_row = {"schema": "replay_run.v1", "run_id": "run-1", "session_id": "s00000",
                  "mode": "retrieval", "trace_id": "t-replay", "finished_at": "2026-11-20T10:00:00+00:00"}  # fmt: skip
    replay_log(local_store).append_many([replay_row])  # as the replay route or job writes it
    catalog = Catalog(local_store)
    return Materializer(local_store, logs, settings.tmp_dir), catalog


def sql(settings, catalog, store, query: str) -> list[list[Any]]:
    engine = SqlEngine([settings.objects_dir / "datasets"], settings.tmp_dir / "duck", SqlLimits())
    engine.sync(views_for(catalog.list(), store.local_path))
    return engine.query(query).rows


def test_every_record_type_becomes_evidence_with_provenance(world, settings, local_store):
    mat, catalog = world
    receipt = mat.run(catalog)
    counts = receipt["transforms"]
    assert counts["sessions"] == {"in": 4, "out": 4, "duplicate": 0, "malformed": 0, "skipped": 0}
    assert counts["observer_events"]["out"] == 2 and counts["pathway_events"]["out"] == 1
    assert counts["playbook_records"]["out"] == 1
    assert counts["replay_runs"]["in"] == counts["replay_runs"]["out"] == 1  # read from the store
    names = {m.name for m in catalog.list()}
    assert f"evidence_observer_events_{DAY_NAME}" in names
    assert f"evidence_playbook_records_{DAY_NAME}" in names
    session_sets = [n for n in names if n.startswith("evidence_sessions_")]
    assert len(session_sets) == 1
    rows = sql(settings, catalog, local_store,
               f"SELECT session_id, trace_id, source_object, line_offset, model, attempts, "
               f"first_shot_accepted, verdicts, error_classes, grounded_in_roster, latency_ms "
               f"FROM {session_sets[0]} ORDER BY line_offset")  # fmt: skip
    assert [r[3] for r in rows] == [0, 1, 2, 3]  # offset 0 is the first line, and is written
    assert rows[0][:3] == ["s00000", "trace-0", f"logs/{SESSION_LOG_FILE}"]
    assert rows[1][5:9] == [2, False, ["rejected", "accepted"], ["Consistency"]]
    assert all(r[4] == "small-model" and r[9] is True for r in rows)
    sink_rows = sql(settings, catalog, local_store,
                    f"SELECT route, http_status, latency_ms, trace_id FROM "
                    f"evidence_observer_events_{DAY_NAME} WHERE kind = 'http.request'")  # fmt: skip
    assert sink_rows == [["/v1/sql", 200, 3.5, "t-obs"]]
    inputs = {i["object"]: i for i in receipt["inputs"]}
    assert inputs[f"logs/{SESSION_LOG_FILE}"]["lines"] == 4
    assert len(inputs[f"logs/{SESSION_LOG_FILE}"]["sha256"]) == 64
    assert mat.receipt(receipt["run_id"]) == receipt


def test_same_inputs_twice_add_zero_rows_and_new_input_adds_only_new(world, settings, roster_rows):
    mat, catalog = world
    first = mat.run(catalog)
    before = {m.name: (m.row_count, m.etag) for m in catalog.list()}
    again = mat.run(catalog)
    assert again["rows_added"] == 0 and again["outputs"] == []
    assert again["transforms"]["sessions"]["duplicate"] == 4
    assert {m.name: (m.row_count, m.etag) for m in catalog.list()} == before
    write_sessions(settings.logs_dir, roster_rows, 3, start=100)
    third = mat.run(catalog)
    assert third["transforms"]["sessions"]["out"] == 3
    assert third["transforms"]["sessions"]["duplicate"] == 4
    assert third["rows_added"] == 3 and first["rows_added"] > 3
    name = next(o["dataset"] for o in third["outputs"])
    assert catalog.get(name).row_count == 7


class _Both:
    """What versions before the store-only log did: each session in the store and a local file."""

    def __init__(self, *logs: Any) -> None:
        self.logs = logs

    def append(self, record: dict[str, Any]) -> None:
        for log in self.logs:
            log.append(record)


def test_sessions_in_the_store_are_evidence_and_one_also_in_a_local_file_counts_once(
    world, settings, local_store, roster_rows
):
    mat, catalog = world  # 4 sessions in the local file of an older version
    store_log = ObjectStoreSessionLog(local_store)
    write_sessions(settings.logs_dir, roster_rows, 2, start=200, log=store_log)  # any replica
    local = SessionLog(settings.logs_dir / SESSION_LOG_FILE)
    write_sessions(settings.logs_dir, roster_rows, 1, start=300, log=_Both(store_log, local))
    receipt = mat.run(catalog)
    assert receipt["transforms"]["sessions"] == {
        "in": 8, "out": 7, "duplicate": 1, "malformed": 0, "skipped": 0
    }  # fmt: skip
    name = next(o["dataset"] for o in receipt["outputs"] if o["transform"] == "sessions")
    rows = sql(settings, catalog, local_store,
               f"SELECT session_id, source_object FROM {name} ORDER BY session_id")  # fmt: skip
    assert [r[0] for r in rows] == [f"s{i:05d}" for i in (0, 1, 2, 3, 200, 201, 300)]
    from_store = {r[0] for r in rows if r[1].startswith("store:logs/sessions.iterate/")}
    assert from_store == {"s00200", "s00201"}  # s00300 was read from the local file first
    again = mat.run(catalog)
    assert again["rows_added"] == 0 and again["transforms"]["sessions"]["duplicate"] == 8


def test_malformed_lines_are_counted_in_the_receipt_never_a_crash(world, settings):
    mat, catalog = world
    with open(settings.logs_dir / SESSION_LOG_FILE, "ab") as fh:
        fh.write(b"{torn json\n")
        fh.write(b'{"schema": "session.iterate.v1", "session_id": 7}\n')  # no model, bad id
        fh.write(b"[1, 2]\n")
        fh.write(b"\n")
        fh.write(b'{"schema": "other.v1"}\n')
    mat.max_line_bytes = 4096
    with open(settings.logs_dir / SESSION_LOG_FILE, "ab") as fh:
        fh.write(b'{"x": "' + b"y" * 10_000 + b'"}\n')
    receipt = mat.run(catalog)
    counts = receipt["transforms"]["sessions"]
    assert counts == {"in": 9, "out": 4, "duplicate": 0, "malformed": 5, "skipped": 0}
    offsets = [p["line_offset"] for p in receipt["problems"]]
    assert offsets == [4, 5, 6, 8, 9]  # the blank line (7) is not a record, and not a problem
    assert receipt["problems"][-1]["reason"] == "overlong"


def test_unknown_transform_is_refused_before_anything_is_written(world, local_store):
    mat, catalog = world
    before = sorted(o.key for o in local_store.iter_all(""))
    with pytest.raises(InvalidInput, match="unknown transforms"):
        mat.run(catalog, ["sessions", "nope"])
    assert sorted(o.key for o in local_store.iter_all("")) == before
    with pytest.raises(NotFound):
        mat.receipt("000-missing")


def test_a_subset_of_transforms_reads_only_those_inputs(world):
    mat, catalog = world
    receipt = mat.run(catalog, ["playbook_records"])
    assert list(receipt["transforms"]) == ["playbook_records"]
    assert [i["transform"] for i in receipt["inputs"]] == ["playbook_records"]
    assert dataset_name("playbook_records", "2026-11-18") in {m.name for m in catalog.list()}


def test_a_day_changed_by_another_run_meanwhile_is_refused_then_merged_next_time(
    settings, local_store, roster_rows, tmp_path
):
    """Two replicas, two session logs, one day: the later merge must not drop the other's."""
    catalog = Catalog(local_store)
    logs_b = tmp_path / "logs-b"
    write_sessions(settings.logs_dir, roster_rows, 1)
    write_sessions(logs_b, roster_rows, 1, start=500)
    mat_a = Materializer(local_store, settings.logs_dir, settings.tmp_dir)
    mat_b = Materializer(local_store, logs_b, settings.tmp_dir)
    staged = mat_a.stage(["sessions"], lambda n: current_manifest(catalog, n)).staged[0]
    assert mat_b.run(catalog, ["sessions"])["rows_added"] == 1  # b registers the day first
    with pytest.raises(Conflict, match="run materialize again"):
        check_base(staged, catalog.get(staged.dataset))
    mat_a.discard(staged)
    assert not local_store.exists(staged.staged_key)
    assert mat_a.run(catalog, ["sessions"])["rows_added"] == 1  # merged with b's row now
    assert catalog.get(staged.dataset).row_count == 2


def test_observer_events_come_from_the_store_and_a_legacy_local_copy_counts_once(
    world, settings, local_store
):
    mat, catalog = world
    (batch, _) = [o.key for o in local_store.iter_all("observer/events/")]
    legacy = settings.logs_dir / OBSERVER_FILE  # what versions before the store sink wrote
    legacy.write_bytes(local_store.get(batch))
    JsonlFileSink(legacy).close()
    receipt = mat.run(catalog, transforms=["observer_events"])
    assert receipt["transforms"]["observer_events"]["out"] == 2
    assert receipt["transforms"]["observer_events"]["duplicate"] == 1
    objects = {i["object"] for i in receipt["inputs"]}
    assert f"store:{batch}" in objects and "logs/observer.jsonl" in objects
