"""Where the shard actors live, and how long the lost ones take to answer again."""

from __future__ import annotations

import time
from dataclasses import dataclass

import ray
from ray.util.state import list_actors

from tests.cluster.nodes import LocalCluster


@dataclass
class Recovery:
    """One lost shard: the node it was on, where it came back, and after how long."""

    shard: str
    lost_node: str
    new_node: str
    seconds: float
    count: int


def node_names(cluster: LocalCluster) -> dict[str, str]:
    """Ray node id → this cluster's node name (by node manager port)."""
    by_port = {node.node_manager_port: name for name, node in cluster.nodes.items()}
    return {n["NodeID"]: by_port.get(n["NodeManagerPort"], "?") for n in ray.nodes()}


def shard_nodes(cluster: LocalCluster) -> dict[str, str]:
    """Each live shard actor's name → the name of the node it runs on."""
    names = node_names(cluster)
    actors = list_actors(  # this cluster's dashboard, named: another local Ray may be running
        address=cluster.dashboard_url,
        filters=[("state", "=", "ALIVE")],
        limit=1000,
        raise_on_missing_output=False,
    )
    return {a.name: names.get(a.node_id, "?") for a in actors if a.name.startswith("shard-")}


def wait_recovered(
    lost: list[str], lost_node: str, killed_at: float, cluster: LocalCluster, timeout_s: float
) -> list[Recovery]:
    """Ask each lost shard for its stats until it answers (restored from the object store on
    another node); the time from the kill to that answer is its recovery time."""
    pending = {name: ray.get_actor(name, namespace="lakehouse") for name in lost}
    calls = {name: handle.stats.remote() for name, handle in pending.items()}
    out: list[Recovery] = []
    deadline = time.monotonic() + timeout_s
    while calls and time.monotonic() < deadline:
        ready, _ = ray.wait(list(calls.values()), num_returns=1, timeout=0.25)
        for ref in ready:
            name = next(n for n, r in calls.items() if r == ref)
            try:
                stats = ray.get(ref)
            except Exception:  # the call reached the dead incarnation: ask the new one
                calls[name] = pending[name].stats.remote()
                continue
            answered = time.time()
            del calls[name]
            where = shard_nodes(cluster).get(name, "?")
            out.append(Recovery(name, lost_node, where, answered - killed_at, stats["count"]))
    assert not calls, f"shards not back within {timeout_s} s: {sorted(calls)}"
    return out
