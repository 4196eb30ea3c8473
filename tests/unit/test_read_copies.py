"""Read copies of a shard (``lakehouse.vectors.follower``) and the board that says when one
is current (``lakehouse.vectors.board``): no copy answers for a state the live shard is not
in, whatever happens to the shard (more writes, a restart, a kill, a pruned log)."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lakehouse.storage import open_store
from lakehouse.vectors import ShardConfig, VectorShard
from lakehouse.vectors import follower as follower_mod
from lakehouse.vectors.board import BoardReader, BoardState, BoardWriter
from lakehouse.vectors.follower import Budget, ShardFollower

DIM = 8
PREFIX = "vectors/c/000"


def vecs(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


@pytest.fixture
def store(settings):
    return open_store(settings)


@pytest.fixture
def board_path(tmp_path):
    return tmp_path / "boards" / "shard-c-0"


class Owner:
    """The live shard: a ``VectorShard`` publishing on its board, as the actor does."""

    def __init__(self, store, board_path, **config):
        self.board = BoardWriter(board_path)
        self.shard = VectorShard(
            store, PREFIX, ShardConfig(dim=DIM, **config), on_applied=self.board.publish
        )
        self.snapshots = 0

    def snapshot(self) -> int:
        self.snapshots += 1
        return self.shard.snapshot()

    def kill(self):  # the process's end, as the kernel sees it: the lock is released
        self.board.close()


def follower_of(store, board_path, owner, budget=1 << 30, **config):
    return ShardFollower(
        store,
        PREFIX,
        ShardConfig(dim=DIM, **config),
        BoardReader(board_path),
        owner.snapshot,
        Budget(budget),
    )


def caught_up(f: ShardFollower):
    state = f.state()
    if f.due(state):
        f.busy = True
        f.catch_up()
    return f.current(f.state())


def test_a_current_copy_answers_as_the_shard_does(store, board_path):
    owner = Owner(store, board_path)
    v = vecs(40)
    owner.shard.add([f"a{i}" for i in range(40)], v, [{"i": i} for i in range(40)])
    f = follower_of(store, board_path, owner)
    assert f.current(f.state()) is None  # nothing loaded yet
    copy = caught_up(f)
    assert copy is not None and copy.generation == owner.shard.generation
    for row in (0, 17, 39):
        mine = copy.search(v[row], 5, filter={"i": {"$lt": 30}}, exclude_ids=["a3"]).to_dict()
        theirs = owner.shard.search(v[row], 5, filter={"i": {"$lt": 30}}, exclude_ids=["a3"])
        assert mine == theirs.to_dict()


def test_a_write_makes_the_copy_stale_until_it_replays_the_log(store, board_path):
    owner = Owner(store, board_path)
    owner.shard.add(["a", "b"], vecs(2, 1))
    f = follower_of(store, board_path, owner)
    copy = caught_up(f)
    owner.shard.add(["c"], vecs(1, 2))  # acknowledged: the board moved before this returned
    owner.shard.delete(["a"])
    assert f.current(f.state()) is None
    assert caught_up(f) is copy  # replayed in place, not reloaded
    assert copy.contains(["a", "b", "c"]) == [False, True, True]
    assert copy.generation == owner.shard.generation


def test_a_long_log_asks_the_shard_for_a_snapshot_and_loads_it(store, board_path, monkeypatch):
    monkeypatch.setattr(follower_mod, "REPLAY_MAX_BYTES", 1000)
    owner = Owner(store, board_path)
    for batch in range(5):
        owner.shard.add([f"b{batch}-{i}" for i in range(20)], vecs(20, batch))
    f = follower_of(store, board_path, owner)
    copy = caught_up(f)
    assert owner.snapshots == 1 and copy is not None and copy.count == 100
    assert copy.stats()["snapshot_seq"] == 5 and copy.stats()["replayed"] == 0


def test_a_pruned_log_reloads_from_the_snapshot(store, board_path):
    owner = Owner(store, board_path)
    owner.shard.add(["a"], vecs(1, 1))
    f = follower_of(store, board_path, owner)
    first = caught_up(f)
    for batch in range(4):  # two snapshots later, the log the copy would replay is gone
        owner.shard.add([f"p{batch}"], vecs(1, 10 + batch))
        owner.shard.snapshot()
    copy = caught_up(f)
    assert copy is not None and copy is not first and copy.count == 5
    assert copy.generation == owner.shard.generation


def test_a_restarted_shard_is_another_incarnation_and_the_copy_reloads(store, board_path):
    owner = Owner(store, board_path)
    owner.shard.add(["a", "b"], vecs(2, 1))
    f = follower_of(store, board_path, owner)
    old = caught_up(f)
    owner.kill()
    assert f.state() is None and f.current(None) is None  # no live owner: never local
    owner = Owner(store, board_path)  # the restart: same log, new incarnation
    assert f.current(f.state()) is None
    owner.shard.delete(["a"])
    copy = caught_up(f)
    assert copy is not old and copy.contains(["a", "b"]) == [False, True]
    assert copy.generation == owner.shard.generation


def test_a_killed_owner_process_leaves_a_board_no_reader_trusts(tmp_path, board_path):
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from lakehouse.vectors.board import BoardWriter, BoardState
        board = BoardWriter(Path({str(board_path)!r}))
        board.publish(BoardState("abc123", 42, 40))
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        reader = BoardReader(board_path)
        assert reader.read() == BoardState("abc123", 42, 40)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert board_path.exists()  # the record is still there...
        assert reader.read() is None  # ...but nobody holds the lock: it is not trusted
    finally:
        proc.kill()


def test_a_torn_or_short_board_is_not_trusted(board_path):
    writer = BoardWriter(board_path)
    writer.publish(BoardState("inc", 7, 0))
    reader = BoardReader(board_path)
    assert reader.read() == BoardState("inc", 7, 0)
    with open(board_path, "r+b") as fh:  # a byte of the record changed, CRC not
        fh.seek(17)
        fh.write(b"\xff")
    assert reader.read() is None
    with open(board_path, "r+b") as fh:
        fh.truncate(10)
    assert reader.read() is None


def test_a_copy_over_the_budget_is_not_made_and_the_shard_answers(store, board_path):
    owner = Owner(store, board_path)
    owner.shard.add([f"a{i}" for i in range(50)], vecs(50))
    f = follower_of(store, board_path, owner, budget=1000)
    assert caught_up(f) is None
    assert f.copy is None and "budget" in f.problem and f.budget.used == 0
    assert not f.due(f.state())  # not tried again at once


def test_a_corrupt_log_segment_drops_the_copy_instead_of_answering_wrong(store, board_path):
    owner = Owner(store, board_path)
    owner.shard.add(["a"], vecs(1, 1))
    f = follower_of(store, board_path, owner)
    assert caught_up(f) is not None
    owner.shard.add(["b"], vecs(1, 2))
    key = f"{PREFIX}/wal/{owner.shard.seq:020d}.bin"
    store.put(key, b"LHW2" + b"\0" * 20)  # damaged after the shard applied it from memory
    assert caught_up(f) is None
    assert f.copy is None and f.problem and f.budget.used == 0


def test_a_full_load_takes_the_parameters_stored_now_not_the_ones_it_was_made_with(
    store, board_path
):
    """A corpus deleted and made again under its name with another space: a replica's
    follower was made for the old definition, the copy must search as the new one."""
    owner = Owner(store, board_path, space="l2")
    v = vecs(20, 3)
    owner.shard.add([f"a{i}" for i in range(20)], v)
    f = ShardFollower(
        store,
        PREFIX,
        ShardConfig(dim=DIM, space="cosine"),
        BoardReader(board_path),
        owner.snapshot,
        Budget(1 << 30),
        lambda: ShardConfig(dim=DIM, space="l2"),
    )
    copy = caught_up(f)
    assert copy.config.space == "l2"
    assert copy.search(v[4] * 3, 3).to_dict() == owner.shard.search(v[4] * 3, 3).to_dict()


def test_a_little_log_is_replayed_and_a_tenth_of_the_index_or_more_is_a_snapshot(
    store, board_path, monkeypatch
):
    monkeypatch.setattr(follower_mod, "REPLAY_MIN_BYTES", 2000)
    owner = Owner(store, board_path)
    owner.shard.add([f"a{i}" for i in range(300)], vecs(300, 1))
    owner.snapshot()
    f = follower_of(store, board_path, owner)
    first = caught_up(f)
    index_bytes = max(o.size for o in store.iter_all(f"{PREFIX}/snap/") if o.key.endswith(".hnsw"))
    owner.shard.add(["one"], vecs(1, 2))  # far under a tenth of the index: replayed
    assert caught_up(f) is first and owner.snapshots == 1
    rows = index_bytes // 10 // (DIM * 4) + 1  # over a tenth of the index in log
    owner.shard.add([f"b{i}" for i in range(rows)], vecs(rows, 3))
    copy = caught_up(f)
    assert copy is not first and owner.snapshots == 2
    assert copy.count == 301 + rows and copy.generation == owner.shard.generation
