"""A Ray cluster of several nodes on this machine, each started with ``ray start``.

Every node gets its own ``--temp-dir`` (so its processes can be told apart from every other
Ray on the machine), its own ``LAKEHOUSE_DATA_DIR`` and free ports for everything Ray would
otherwise open on a fixed one. A node is stopped by killing the processes that belong to it
(found by its temp dir in their command line), never by a plain ``ray stop``, which stops
every Ray process of the machine, other people's included.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.conftest import free_port

RAY = str(Path(sys.executable).with_name("ray"))
START_TIMEOUT_S = 180


@dataclass
class Node:
    """One ``ray start`` node: its name, temp dir, data dir and environment."""

    name: str
    temp_dir: Path
    data_dir: Path
    env: dict[str, str]
    head: bool = False
    node_manager_port: int = field(default_factory=free_port)

    def pids(self) -> list[int]:
        """Every live process of this node (its temp dir is in their command lines)."""
        marker = str(self.temp_dir)
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if any(marker in part for part in cmdline):
                found.append(proc.info["pid"])
        return found

    def kill(self) -> int:
        """SIGKILL every process of the node at once (a machine lost, not a clean stop)."""
        procs = []
        for pid in self.pids():
            try:
                proc = psutil.Process(pid)
                procs.extend([proc, *proc.children(recursive=True)])
            except psutil.NoSuchProcess:
                continue
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(procs, timeout=30)
        return len(procs)


class LocalCluster:
    """A head and worker nodes started with ``ray start`` under ``root``.

    Args:
        root: a short directory (Unix socket paths under it must stay below 108 bytes).
        env: the environment of every node (``LAKEHOUSE_*``, ``RAY_AUTH_*``, S3 credentials).
        node_env: more environment for one node by its name (its own Ollama, say).
    """

    def __init__(
        self, root: Path, env: dict[str, str], node_env: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.root = root
        self.env = env
        self.node_env = node_env or {}
        self.nodes: dict[str, Node] = {}
        self.gcs_port = free_port()
        self.dashboard_port = free_port()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start_head(self, num_cpus: int) -> Node:
        extra = [
            "--head",
            f"--port={self.gcs_port}",
            "--include-dashboard=true",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}",
        ]
        return self._start("head", num_cpus, 0, {}, extra, head=True)

    def start_worker(
        self, name: str, num_cpus: int, num_gpus: int = 0, resources: dict | None = None
    ) -> Node:
        return self._start(name, num_cpus, num_gpus, resources or {}, [f"--address={self.address}"])

    def _start(
        self,
        name: str,
        num_cpus: int,
        num_gpus: int,
        resources: dict,
        extra: list[str],
        head: bool = False,
    ) -> Node:
        base = self.root / name
        env = {**self.env, **self.node_env.get(name, {})}
        node = Node(name, base / "t", base / "data", env, head=head)
        node.env["LAKEHOUSE_DATA_DIR"] = str(node.data_dir)
        node.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            RAY,
            "start",
            "--node-ip-address=127.0.0.1",
            f"--temp-dir={node.temp_dir}",
            f"--num-cpus={num_cpus}",
            f"--num-gpus={num_gpus}",
            f"--resources={json.dumps(resources)}",
            f"--object-store-memory={200 * 1024 * 1024}",
            f"--node-manager-port={node.node_manager_port}",
            f"--object-manager-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            "--disable-usage-stats",
            "--log-style=record",
            *extra,
        ]
        out = subprocess.run(
            command, env=node.env, capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
        if out.returncode != 0:
            raise RuntimeError(f"ray start ({name}) failed:\n{out.stdout}\n{out.stderr}")
        self.nodes[name] = node
        return node

    def stop_all(self) -> None:
        """Kill every node's processes (workers first, the head last) and remove the dirs."""
        for node in sorted(self.nodes.values(), key=lambda n: n.head):
            node.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def cli_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for ``ray``/``serve`` commands run against the cluster."""
    return {**os.environ, **env}
