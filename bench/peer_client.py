"""One product driven through its own Python client; run by bench/peers.py in a subprocess
(Chroma's from .venv-chroma, ours from .venv), so each client has a process of its own.

    python bench/peer_client.py chroma|lakehouse URL DATA.npy QUERIES.npy [--shards N]
        [--json-floats] [--httpx] [--concurrency 16] [--per-client 50]

Prints one JSON line: adds/s, sequential search latencies, queries/s at ``concurrency``
clients (one client object per thread), and the ids found for every query.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

BATCH = 1000
M, EF_C, EF_S = 16, 200, 64


class Chroma:
    def __init__(self, url: str, dim: int, shards: int, name: str | None = None) -> None:
        import chromadb

        host, port = url.rsplit("//", 1)[1].split(":")
        self.client = chromadb.HttpClient(host=host, port=int(port))
        self.name = name or f"bench_{uuid.uuid4().hex[:8]}"
        hnsw = {"space": "cosine", "max_neighbors": M, "ef_construction": EF_C, "ef_search": EF_S}
        self.col = self.client.get_or_create_collection(self.name, configuration={"hnsw": hnsw})

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        self.col.add(ids=ids, embeddings=vectors)

    def search(self, vector: np.ndarray) -> list[str]:
        found = self.col.query(query_embeddings=[vector], n_results=10, include=["distances"])
        return found["ids"][0]


class Lakehouse:
    def __init__(
        self, url: str, dim: int, shards: int, name=None, binary=True, use_httpx=False
    ) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        import httpx

        from lakehouse.client import Client

        # use_httpx: the client over httpx.Client (its default before the urllib3 pool)
        http = httpx.Client(base_url=url, timeout=300) if use_httpx else None
        self.client = Client(url, binary=binary, timeout_s=300, http=http)
        self.name = name or f"bench_{uuid.uuid4().hex[:8]}"
        self.binary = binary
        self.client.vectors.create(
            self.name, dim, shards=shards
        )  # idempotent: later clients attach

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        self.client.vectors.add(self.name, ids, vectors)

    def search(self, vector: np.ndarray) -> list[str]:
        return [h["id"] for h in self.client.vectors.search(self.name, vector, k=10)["hits"]]


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "n": len(ordered)}


def concurrent(make, queries: np.ndarray, clients: int, per_client: int) -> dict:
    """``clients`` threads, each with its own client object, ``per_client`` searches each."""
    peers = [make() for _ in range(clients)]
    latencies: list[float] = []
    start = threading.Barrier(clients + 1)

    def run(peer, offset: int) -> None:
        start.wait()
        for i in range(per_client):
            t = time.perf_counter()
            peer.search(queries[(offset + i) % len(queries)])
            latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=run, args=(p, i * 7)) for i, p in enumerate(peers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"clients": clients, "qps": round(len(latencies) / elapsed, 1), **percentiles(latencies)}


def main() -> None:
    args = _parse()
    data, queries = np.load(args.data), np.load(args.queries)
    binary = not args.json_floats
    if args.product == "chroma":
        first = Chroma(args.url, data.shape[1], args.shards)
        make = lambda: Chroma(args.url, data.shape[1], args.shards, first.name)  # noqa: E731
    else:
        dim, shards, via = data.shape[1], args.shards, args.httpx
        first = Lakehouse(args.url, dim, shards, binary=binary, use_httpx=via)
        make = lambda: Lakehouse(args.url, dim, shards, first.name, binary, via)  # noqa: E731
    ids = [str(i) for i in range(len(data))]
    began = time.perf_counter()
    for s in range(0, len(data), BATCH):
        first.add(ids[s : s + BATCH], data[s : s + BATCH])
    adds_s = time.perf_counter() - began
    for q in queries[:20]:  # warm the connection and the code paths
        first.search(q)
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        found.append(first.search(q))
        lat.append(time.perf_counter() - t)
    out = {
        "adds_per_s": round(len(data) / adds_s, 1),
        "add_seconds": round(adds_s, 2),
        "search_sequential": percentiles(lat),
        "search_concurrent": concurrent(make, queries, args.concurrency, args.per_client),
        "found": found,
    }
    print(json.dumps(out))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("product", choices=["chroma", "lakehouse"])
    parser.add_argument("url")
    parser.add_argument("data")
    parser.add_argument("queries")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--json-floats", action="store_true", help="lakehouse: JSON, not base64")
    parser.add_argument("--httpx", action="store_true", help="lakehouse: over httpx.Client")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=50)
    return parser.parse_args()


if __name__ == "__main__":
    main()
