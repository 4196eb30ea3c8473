"""Where the bulk job's embedders run, and which Ollama each one calls.

With ``--num-gpus`` every embedder actor asks Ray for that many GPUs, so Ray places it only
on a node that declared GPUs (``ray start --num-gpus``); ``check_gpus`` refuses the job before
anything is created when no live node has that many. An embedder with the ``ollama`` backend
calls the Ollama of the node it landed on, resolved inside the actor, not on the driver:

1. ``LAKEHOUSE_NODE_OLLAMA_HOST`` from that node's environment (the workers Ray starts on a
   node inherit the environment of its ``ray start``), else
2. the configured ``ollama_host`` with ``{node_ip}`` replaced by the node's IP address
   (``LAKEHOUSE_EMBED_OLLAMA_HOST='http://{node_ip}:11434'``), else
3. the configured ``ollama_host`` as it is (one server for every node).

The driver asks the embedding width where the embedders will run (``probe_dim``: a task on a
GPU node when ``--num-gpus``), so the head needs neither a GPU nor an Ollama.

``check_cpus`` refuses the job before anything is created when no live node has room for what
the pipeline asks of Ray at once (a read task and every actor of its pools): Ray Data would
otherwise wait for a CPU forever, without a word (a 2-CPU node whose two Serve replicas hold
0.5 CPU each made 0 rows in 6 minutes). ``unplaced`` is the pure part, given the free CPUs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ray

from lakehouse.embed import EmbedConfig, open_embedder
from lakehouse.errors import InvalidInput, Unavailable

NODE_OLLAMA_HOST = "LAKEHOUSE_NODE_OLLAMA_HOST"
NODE_IP = "{node_ip}"
_EPS = 1e-6  # CPU amounts are sums of fractions (0.05 + 0.25 ...)


@dataclass(frozen=True)
class Stage:
    """``count`` tasks or actors of one pipeline operator that run at once, ``cpus`` each."""

    name: str
    cpus: float
    count: int = 1


def node_embed_config(
    config: EmbedConfig, env: Mapping[str, str] | None = None, node_ip: str | None = None
) -> EmbedConfig:
    """``config`` with the Ollama host of this node (unchanged for the onnx backend)."""
    if config.backend != "ollama":
        return config
    env = os.environ if env is None else env
    host = env.get(NODE_OLLAMA_HOST) or config.ollama_host
    if NODE_IP in host:
        host = host.replace(NODE_IP, node_ip or ray.util.get_node_ip_address())
    return config.model_copy(update={"ollama_host": host})


def check_gpus(num_gpus: float) -> None:
    """``InvalidInput`` when embedders ask for GPUs and no live node has that many (Ray would
    otherwise wait for such a node forever)."""
    if not num_gpus:
        return
    per_node = [n.get("Resources", {}).get("GPU", 0) for n in ray.nodes() if n.get("Alive")]
    if max(per_node, default=0) < num_gpus:
        raise InvalidInput(
            f"--num-gpus {num_gpus}: no live node of this cluster has that many GPUs "
            f"(GPUs per node: {per_node})",
            field="num_gpus",
        )


def unplaced(free: Sequence[float], stages: Sequence[Stage]) -> Stage | None:
    """The first stage with no node left to run on (``None``: every one fits), placing the
    biggest asks first, each on the node it fits most tightly. ``free``: CPUs free per node."""
    left = list(free)
    for ask in sorted((s for s in stages for _ in range(s.count)), key=lambda s: -s.cpus):
        fits = [i for i, cpus in enumerate(left) if cpus >= ask.cpus - _EPS]
        if not fits:
            return ask
        left[min(fits, key=left.__getitem__)] -= ask.cpus
    return None


def check_cpus(stages: Sequence[Stage], wait_s: float, poll_s: float = 0.5) -> None:
    """``Unavailable`` when the live nodes' free CPUs cannot hold ``stages`` at once, still
    after ``wait_s`` (CPUs held by tasks that end come back; those of long-lived actors,
    such as Serve replicas, do not)."""
    deadline, warned = time.monotonic() + wait_s, False
    while unplaced(_free(nodes := _node_cpus()), stages) is not None:
        if time.monotonic() >= deadline:
            raise Unavailable(cpu_refusal(stages, nodes, wait_s), free_cpus=nodes)
        if not warned:  # loud, in the job's log, while it waits
            print(f"bulk_embed: waiting up to {wait_s:g} s for room for {_asks(stages)}; "
                  f"CPUs (free, total) per live node: {nodes}", flush=True)  # fmt: skip
            warned = True
        time.sleep(poll_s)


def cpu_refusal(
    stages: Sequence[Stage], nodes: Sequence[tuple[float, float]], waited_s: float
) -> str:
    """The refusal's text: what the job asks, what the best node and the cluster have free."""
    best_free, best_total = max(nodes, default=(0.0, 0.0))
    free, total = sum(f for f, _ in nodes), sum(t for _, t in nodes)
    return (
        f"the job cannot start: it needs {_asks(stages)} at once, and no live node has room: "
        f"the best has {_n(best_free)} of its {_n(best_total)} CPUs free, the cluster "
        f"{_n(free)} of {_n(total)} (waited {waited_s:g} s). Free the CPUs long-lived actors "
        f"hold (fewer Serve replicas: LAKEHOUSE_REPLICAS), ask less (--embed-cpus, "
        f"--concurrency) or add a node"
    )


def _free(nodes: Sequence[tuple[float, float]]) -> list[float]:
    return [free for free, _ in nodes]


def _asks(stages: Sequence[Stage]) -> str:
    each = ", ".join(f"{s.count} {s.name} x {_n(s.cpus)} CPU" for s in stages)
    return f"{_n(sum(s.cpus * s.count for s in stages))} CPUs ({each})"


def _n(cpus: float) -> str:
    return f"{round(cpus, 2):g}"


def _node_cpus() -> list[tuple[float, float]]:
    """(free, total) CPUs of each live node. Ray's public API sums the cluster; the per-node
    view is the one Serve's own scheduler reads."""
    from ray._private.state import available_resources_per_node

    free = available_resources_per_node()
    return [
        (free.get(n["NodeID"], {}).get("CPU", 0.0), n.get("Resources", {}).get("CPU", 0.0))
        for n in ray.nodes()
        if n.get("Alive")
    ]


def probe_dim(config: EmbedConfig, num_gpus: float) -> int:
    """The embedding width, asked on a node like the embedders' (also exports the onnx model
    there once, before the embedders start)."""
    if not num_gpus:
        return _dim(config)
    task = ray.remote(num_gpus=num_gpus, num_cpus=0)(_dim)
    return ray.get(task.remote(config))


def _dim(config: EmbedConfig) -> int:
    with open_embedder(node_embed_config(config)) as embedder:
        return embedder.dim
