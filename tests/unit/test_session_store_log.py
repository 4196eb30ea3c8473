"""The iterate session log in the object store: durable per session, oldest first."""

import pytest

from lakehouse.iterate import SCHEMA
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.storage import open_store


@pytest.mark.parametrize("backend", ["settings", "s3_settings"])
def test_sessions_come_back_in_order_and_damage_is_skipped(backend, request):
    store = open_store(request.getfixturevalue(backend))
    log = ObjectStoreSessionLog(store)
    log.append({"schema": SCHEMA, "session_id": "a"})
    store.put("logs/sessions.iterate/0000-bad.json", b"{torn")  # sorts first, is skipped
    log.append({"schema": SCHEMA, "session_id": "b"})
    log.append({"schema": "other.v1", "session_id": "c"})  # not a session: skipped
    again = ObjectStoreSessionLog(open_store(request.getfixturevalue(backend)))
    assert [r["session_id"] for r in again.read()] == ["a", "b"]


def test_a_batch_is_one_object_and_the_replay_log_reads_only_its_rows(settings):
    from lakehouse.distill.replay import SCHEMA as REPLAY
    from lakehouse.distill.replay import replay_log

    store = open_store(settings)
    log = replay_log(store)
    log.append_many([{"schema": REPLAY, "run_id": "r", "n": i} for i in range(3)])
    log.append_many([])  # nothing to write: no object
    keys = [o.key for o in store.iter_all("logs/replay_runs/")]
    assert len(keys) == 1
    store.put(keys[0].rsplit("/", 1)[0] + "/9999-torn.json",  # a torn line, then a good one
              b'{"schema": "replay_run.v1", "run_id": "r", "n"\n' + b'{"schema": "replay_run.v1", "run_id": "r", "n": 3}\n')  # fmt: skip
    assert [r["n"] for r in replay_log(open_store(settings)).read()] == [0, 1, 2, 3]
    assert ObjectStoreSessionLog(store).read() == []  # the session log is another prefix
