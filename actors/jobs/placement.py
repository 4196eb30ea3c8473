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
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import ray

from lakehouse.embed import EmbedConfig, open_embedder
from lakehouse.errors import InvalidInput

NODE_OLLAMA_HOST = "LAKEHOUSE_NODE_OLLAMA_HOST"
NODE_IP = "{node_ip}"


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
