"""Where a vector search spends its time, hop by hop, through this project's own client.

    flock /tmp/lakehouse-heavy.lock .venv/bin/python bench/hops.py [--n 20000] [--pyspy 8]

One Serve app (HAProxy ingress, free ports), one corpus of ``n`` clustered unit vectors
(d=384, one shard), then sequential p50/p99 of each hop's floor, cheapest first:

- ``hnswlib_knn``: the work itself (``knn_query`` of one vector, in this process);
- ``actor_call``: the shard actor's ``search`` called from this driver (Ray's hop + the work);
- ``client_health``: client → HAProxy → replica → ``/health`` (wire + ASGI, no actor);
- ``client_refused``: a search the replica refuses at validation (wire + routing + body);
- ``client_search``: the whole search;
- ``client_search_16``: queries/s with 16 concurrent clients.

``--ab`` measures the search hops again with the app redeployed without the hot routes
(``hot_routes=False``: every request through FastAPI's router), then with them once more
(A/B/A in one run, so the machine's drift shows). ``--pyspy SECONDS`` also samples the replica and the shard actor with py-spy during
sequential searches (and the observer actor, which takes the request events) and writes
their top frames. Writes bench/results/hops.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.cpu import CpuSampler  # noqa: E402
from bench.peer_client import percentiles  # noqa: E402
from bench.peers import WORK, start_ours  # noqa: E402
from bench.vectors import clustered  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DIM, RUNS = 384, 1000


def timed(fn, runs: int = RUNS) -> dict:
    for _ in range(20):
        fn()
    lat = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t)
    return percentiles(lat)


def refused(client, name: str) -> None:
    from lakehouse.errors import LakehouseError

    try:
        client.vectors.search(name, np.zeros(DIM, np.float32), k=0)
    except LakehouseError:
        return
    raise AssertionError("k=0 was accepted")


def raw_hnswlib(data: np.ndarray, queries: np.ndarray) -> tuple[dict, float]:
    """hnswlib alone: one query's p50/p99, and adds/s in batches of 1,000 on 2 threads (the
    shard's setting): the floor of the add path, whatever carries the vectors there."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=DIM)
    index.init_index(max_elements=len(data), M=16, ef_construction=200)
    index.set_num_threads(2)
    began = time.perf_counter()
    for s in range(0, len(data), 1000):
        index.add_items(data[s : s + 1000], np.arange(s, min(s + 1000, len(data))))
    adds = round(len(data) / (time.perf_counter() - began), 1)
    index.set_ef(64)
    it = iter(range(10**9))
    return timed(lambda: index.knn_query(queries[next(it) % len(queries)], k=10)), adds


def actor_call(name: str, queries: np.ndarray) -> dict:
    import ray

    from actors import NAMESPACE
    from actors.vectors import shard_name
    from lakehouse.settings import Settings

    shard = ray.get_actor(shard_name(Settings(), name, 0), NAMESPACE)
    it = iter(range(10**9))
    return timed(lambda: ray.get(shard.search.remote(queries[next(it) % len(queries)], 10)))


def concurrent(url: str, name: str, queries: np.ndarray, clients: int = 16, each: int = 60):
    from lakehouse.client import Client

    peers = [Client(url) for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def run(client, offset: int) -> None:
        barrier.wait()
        for i in range(each):
            client.vectors.search(name, queries[(offset + i) % len(queries)], k=10)

    threads = [threading.Thread(target=run, args=(c, i * 7)) for i, c in enumerate(peers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return {"clients": clients, "qps": round(clients * each / (time.perf_counter() - began), 1)}


GROUPS = ("driver", "haproxy", "ServeReplica", "ShardActor", "raylet", "gcs_server",
          "log_monitor", "ServeController", "dashboard", "ObserverActor", "CatalogActor")  # fmt: skip


def cpu_per_call(measure) -> dict:
    """``measure()``'s latencies, and the CPU microseconds each call cost each process kind
    (this driver is the client; other engineers' processes land in ``other``)."""
    with CpuSampler(every_s=1.0) as cpu:
        out = measure()
    calls, by_kind = out["n"] + 20, collections.Counter()
    for name, seconds in cpu.used().values():
        by_kind[next((g for g in GROUPS if g in name), "other")] += seconds
    return {**out, "cpu_us_per_call": {k: round(v * 1e6 / calls) for k, v in by_kind.most_common()}}


def ab(url: str, name: str, *, refused_call, search, queries: np.ndarray) -> dict:
    """The request hops with the hot routes off (B), then on again (A'), each after a
    redeploy (a new replica, the same shard actors) and a short warm-up."""
    from bench.peers import redeploy

    out = {}
    for label, settings in (("plain_router", {"hot_routes": False}), ("hot_again", {})):
        redeploy(settings)
        for _ in range(200):  # the new replica's read copy loads, its first requests settle
            search()
        out[label] = {
            "client_refused": timed(refused_call),
            "client_search": cpu_per_call(lambda: timed(search)),
            "client_search_16": concurrent(url, name, queries),
        }
    return out


def find_pid(title: str) -> int | None:
    for proc in psutil.process_iter(["cmdline"]):
        if any(title in part for part in proc.info["cmdline"] or []):
            return proc.pid
    return None


def pyspy(seconds: int, search) -> dict:
    """py-spy samples of the replica and the shard while ``search`` runs in a loop."""
    spy = Path(sys.executable).with_name("py-spy")
    targets = {
        "replica": find_pid("ServeReplica:lakehouse"),
        "shard": find_pid("ShardActor"),
        "observer": find_pid("ObserverActor"),
    }
    procs, out = {}, {}
    for label, pid in targets.items():
        raw = WORK / f"pyspy-{label}.txt"
        cmd = [str(spy), "record", "-p", str(pid), "-d", str(seconds), "-r", "250", "-f", "raw",
               "-o", str(raw), "--nonblocking", "--threads"]  # fmt: skip
        procs[label] = (
            subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
            raw,
        )
    stop = time.time() + seconds
    count = 0
    while time.time() < stop:
        search()
        count += 1
    for label, (proc, raw) in procs.items():
        proc.wait(60)
        out[label] = (
            top_frames(raw) if raw.exists() else {"error": proc.stderr.read().decode()[-500:]}
        )
    out["searches"] = count
    return out


def top_frames(raw: Path, top: int = 25) -> dict:
    """Self and inclusive sample shares per function, idle threads left out."""
    own, incl, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = [
            f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in stack.split(";")[1:]
        ]
        if not frames or _idle(frames[-1]):
            continue
        total += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            incl[frame] += int(n)
    share = lambda c: [[f, round(100 * v / max(total, 1), 1)] for f, v in c.most_common(top)]  # noqa: E731
    return {"busy_samples": total, "self_pct": share(own), "inclusive_pct": share(incl)}


def _idle(frame: str) -> bool:
    return any(w in frame for w in ("select ", "epoll", "wait ", "_worker ", "poll ", "sleep"))


def main() -> None:
    args = _parse()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    from lakehouse.client import Client

    both = clustered(args.n + 300, DIM)
    data, queries = both[: args.n], both[args.n :]
    knn, raw_adds = raw_hnswlib(data, queries)
    url = start_ours()
    client = Client(url, timeout_s=300)
    name = "hops"
    client.vectors.create(name, DIM)
    ids = [str(i) for i in range(args.n)]
    began = time.perf_counter()
    for s in range(0, args.n, 1000):
        client.vectors.add(name, ids[s : s + 1000], data[s : s + 1000])
    adds = round(args.n / (time.perf_counter() - began), 1)
    it = iter(range(10**9))

    def search():
        return client.vectors.search(name, queries[next(it) % len(queries)], k=10)

    out = {
        "n": args.n,
        "hnswlib_adds_per_s": raw_adds,
        "client_adds_per_s": adds,
        "hnswlib_knn": knn,
        "actor_call": actor_call(name, queries),
        "client_health": timed(client.health),
        "client_refused": timed(lambda: refused(client, name)),
        "client_search": cpu_per_call(lambda: timed(search)),
        "client_search_16": concurrent(url, name, queries),
    }
    if args.ab:
        out["ab"] = ab(url, name, refused_call=lambda: refused(client, name), search=search,
                       queries=queries)  # fmt: skip
    if args.pyspy:
        out["pyspy"] = pyspy(args.pyspy, search)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"hops{args.tag}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    for key, value in out.items():
        if key != "pyspy":
            print(f"{key:<18} {value}")
    print(f"wrote {path}")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--pyspy", type=int, default=0, help="seconds of py-spy sampling")
    parser.add_argument("--ab", action="store_true", help="again without the hot routes")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    return parser.parse_args()


if __name__ == "__main__":
    main()
