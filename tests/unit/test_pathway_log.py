"""The pathway log: replay of damaged logs, history over a damaged chain, compaction, and
the object-store backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import NotFound
from lakehouse.pathway import ObjectStoreLog, PathwayLimits, PathwayStore
from lakehouse.pathway.events import EVENT_SCHEMA, encode_event
from lakehouse.storage.local import LocalStore
from tests.pathway_dirlog import LocalDirLog, open_dir


def line(seq: int, op: str, uid: str, content=None, **fields) -> bytes:
    ev = {"schema": EVENT_SCHEMA, "seq": seq, "ts": 100.0 + seq, "op": op, "uid": uid, **fields}
    return encode_event(ev, None if content is None else content)


def write_log(directory: Path, *lines: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LocalDirLog.TAIL).write_bytes(b"".join(lines))


def test_corrupt_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    write_log(
        tmp_path,
        line(1, "add", "a", '{"n":1}'),
        b"this is not json\n",
        b"[1, 2, 3]\n",
        b'{"schema":"pathway.event.v1","seq":3,"ts":NaN,"op":"add","uid":"x","content":1}\n',
        b"\xff\xfe not utf-8\n",
        line(2, "add", "b", '{"n":2}'),
        b'{"schema":"pathway.event.v1","seq":3,"ts":1',  # torn by a crash mid-append
    )
    store = open_dir(tmp_path)
    report = store.replay_report
    assert (report.log_events, report.skipped_corrupt, report.skipped) == (2, 5, 5)
    assert len(report.problems) == 5 and "events.jsonl:2" in report.problems[0]
    assert store.get("a").content == {"n": 1} and store.get("b").content == {"n": 2}
    made = store.add({"n": 3})  # appends after the torn fragment, on a line of its own
    again = open_dir(tmp_path)
    assert again.get(made.uid).content == {"n": 3}
    assert again.replay_report.skipped_corrupt == 5


def test_overlong_lines_are_skipped_without_reading_them_whole(tmp_path: Path) -> None:
    big = '{"pad":"' + "x" * 5000 + '"}'
    write_log(
        tmp_path,
        line(1, "add", "a", '{"n":1}'),
        line(2, "add", "big", big),
        line(3, "update", "a", '{"n":2}', version=2),
    )
    store = PathwayStore(LocalDirLog(tmp_path, max_line_bytes=1000))
    assert store.replay_report.skipped_overlong == 1
    assert store.get("a").content == {"n": 2} and store.get("a").version == 2
    assert store.stats()["traces"] == 1


def test_events_that_do_not_apply_are_skipped_as_invalid(tmp_path: Path) -> None:
    write_log(
        tmp_path,
        line(1, "add", "a", '{"n":1}'),
        line(2, "add", "a", '{"n":9}'),  # uid taken
        line(3, "update", "ghost", '{"n":1}', version=2),  # unknown uid
        line(4, "update", "a", '{"n":2}', version=5),  # version skips ahead
        line(5, "explode", "a"),  # unknown op
        line(6, "retire", "a"),
        line(7, "retire", "a"),  # already retired
        line(3, "add", "late", '{"n":1}'),  # seq goes backwards: already applied
    )
    store = open_dir(tmp_path)
    report = store.replay_report
    assert (report.log_events, report.skipped_invalid, report.skipped_stale) == (2, 5, 1)
    assert store.get("a").content == {"n": 1} and store.get("a").retired


def test_history_reports_a_missing_predecessor(tmp_path: Path) -> None:
    # "gone"'s own events were lost (say, a corrupt line): its successor still reads.
    write_log(
        tmp_path,
        line(1, "add", "root", '{"n":0}'),
        line(2, "revise", "mid", '{"n":1}', predecessor="gone"),
        line(3, "revise", "top", '{"n":2}', predecessor="mid"),
    )
    history = open_dir(tmp_path).history("top")
    assert [e.uid for e in history.entries] == ["top", "mid"]
    assert history.missing_predecessor == "gone" and not history.complete
    assert history.to_dict()["complete"] is False


def test_history_stops_at_a_cycle(tmp_path: Path) -> None:
    # Only a damaged or hand-edited log can link traces in a loop; the walk must end.
    write_log(
        tmp_path,
        line(1, "revise", "a", '{"n":1}', predecessor="b"),
        line(2, "revise", "b", '{"n":2}', predecessor="a"),
        line(3, "update", "a", '{"n":3}', version=2),
    )
    store = open_dir(tmp_path)
    history = store.history("a")
    assert history.cycle_at == "a" and not history.complete
    assert [(e.uid, e.version) for e in history.entries] == [("a", 2), ("a", 1), ("b", 1)]
    assert store.history("b").cycle_at == "b"


def test_history_is_bounded(tmp_path: Path) -> None:
    store = open_dir(tmp_path, limits=PathwayLimits(max_history=3))
    uid = store.add({"v": 0}).uid
    for v in range(1, 6):
        store.update(uid, {"v": v})
    history = store.history(uid)
    assert history.truncated and len(history.entries) == 3


def test_compaction_keeps_history_and_restarts_the_tail(tmp_path: Path) -> None:
    store = open_dir(tmp_path)
    uid = store.add({"v": 1}, ["t"]).uid
    store.update(uid, {"v": 2})
    store.add_idempotent({"v": 2})
    other = store.revise(uid, {"v": 3}).uid
    store.retire(uid)
    before = [store.history(other).to_dict(), store.stats()["seq"]]
    assert store.compact() == 5
    assert (tmp_path / LocalDirLog.TAIL).stat().st_size == 0
    after = store.add({"v": 4}).uid
    again = open_dir(tmp_path)
    assert [again.history(other).to_dict(), 5] == before
    assert (again.replay_report.snapshot_events, again.replay_report.log_events) == (5, 1)
    assert again.get(after).content == {"v": 4}
    assert again.stats()["seq"] == 6


def test_a_crash_between_snapshot_and_tail_restart_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    store = open_dir(tmp_path)
    uid = store.add({"v": 1}).uid
    store.update(uid, {"v": 2})
    old_tail = (tmp_path / LocalDirLog.TAIL).read_bytes()
    store.compact()
    store.close()
    (tmp_path / LocalDirLog.TAIL).write_bytes(old_tail)  # as if the restart never happened
    again = open_dir(tmp_path)
    assert again.replay_report.skipped_stale == 2 and again.replay_report.skipped == 0
    assert again.get(uid).version == 2
    assert len(again.history(uid).entries) == 2


def test_the_store_compacts_itself_when_the_log_asks(tmp_path: Path) -> None:
    store = PathwayStore(LocalDirLog(tmp_path, compact_after=3))
    uids = [store.add({"n": n}).uid for n in range(7)]
    assert (tmp_path / LocalDirLog.SNAPSHOT).exists()
    again = PathwayStore(LocalDirLog(tmp_path, compact_after=3))
    assert [again.get(u).content for u in uids] == [{"n": n} for n in range(7)]
    assert again.replay_report.snapshot_events == 6


def test_a_corrupt_snapshot_line_is_reported_not_fatal(tmp_path: Path) -> None:
    store = open_dir(tmp_path)
    a, b = store.add({"n": 1}).uid, store.add({"n": 2}).uid
    store.compact()
    store.close()
    snapshot = tmp_path / LocalDirLog.SNAPSHOT
    lines = snapshot.read_bytes().splitlines(keepends=True)
    snapshot.write_bytes(lines[0] + b"garbage\n" + lines[2])
    again = open_dir(tmp_path)
    assert again.replay_report.skipped_corrupt == 1
    assert again.get(b).content == {"n": 2}
    with pytest.raises(NotFound):
        again.get(a)


# ---- the object-store log ---------------------------------------------------------------


def object_store(tmp_path: Path, max_list: int = 1000) -> LocalStore:
    return LocalStore(tmp_path / "objects", tmp_path / "tmp", 1 << 20, max_list)


def test_object_store_log_replays_segments_and_snapshots(tmp_path: Path) -> None:
    objects = object_store(tmp_path)
    store = PathwayStore(ObjectStoreLog(objects, "pw"))
    uid = store.add({"v": 1}).uid
    store.update(uid, {"v": 2})
    keys = [o.key for o in objects.list("pw/").objects]
    assert keys == ["pw/log/00000000000000000001.jsonl", "pw/log/00000000000000000002.jsonl"]
    store.compact()
    store.update(uid, {"v": 3})
    keys = [o.key for o in objects.list("pw/").objects]
    assert keys == ["pw/log/00000000000000000003.jsonl", "pw/snapshot/00000000000000000002.jsonl"]
    again = PathwayStore(ObjectStoreLog(objects, "pw"))
    assert again.get(uid).version == 3
    assert (again.replay_report.snapshot_events, again.replay_report.log_events) == (2, 1)


def test_object_store_log_lists_past_the_page_cap(tmp_path: Path) -> None:
    objects = object_store(tmp_path, max_list=4)
    store = PathwayStore(ObjectStoreLog(objects, "pw", max_segments=1000))
    uids = [store.add({"n": n}).uid for n in range(23)]
    again = PathwayStore(ObjectStoreLog(objects, "pw", max_segments=1000))
    assert again.replay_report.log_events == 23
    assert [again.get(u).content for u in uids] == [{"n": n} for n in range(23)]


def test_object_store_log_skips_a_corrupt_segment(tmp_path: Path) -> None:
    objects = object_store(tmp_path)
    store = PathwayStore(ObjectStoreLog(objects, "pw"))
    a = store.add({"n": 1}).uid
    objects.put("pw/log/00000000000000000002.jsonl", b"{broken\n")
    objects.put("pw/log/stray.txt", b"?")
    again = PathwayStore(ObjectStoreLog(objects, "pw"))
    assert again.replay_report.skipped_corrupt == 1
    assert any("stray.txt" in p for p in again.replay_report.problems)
    b = again.add({"n": 2}).uid  # numbering continues after the damaged segment
    third = PathwayStore(ObjectStoreLog(objects, "pw"))
    assert third.get(a).content == {"n": 1} and third.get(b).content == {"n": 2}
