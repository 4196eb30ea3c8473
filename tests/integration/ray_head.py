"""A real Ray head with its dashboard (the job server), started as ``ray start --head --block``
on free loopback ports with its own temp dir and token auth, and stopped by its own pid.

Never ``ray stop``: that would stop every Ray on the machine, other sessions' included.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port

PORT_FLAGS = ("--port", "--dashboard-port", "--ray-client-server-port", "--node-manager-port",
              "--object-manager-port", "--dashboard-agent-listen-port",
              "--dashboard-agent-grpc-port", "--runtime-env-agent-port",
              "--metrics-export-port")  # fmt: skip


@dataclass(frozen=True)
class RayHead:
    address: str  # the job server: http://127.0.0.1:<dashboard port>
    token: str
    temp_dir: Path


@contextmanager
def ray_head(num_cpus: int = 4, start_timeout_s: float = 120.0) -> Iterator[RayHead]:
    """A head node for the block; its processes end with it (SIGTERM to ``ray start``).

    Four logical CPUs on two cores: the bulk job's read task wants a whole CPU beside the
    catalog, shard and UDF actors, and waits for ever with two."""
    ports = {flag: free_port() for flag in PORT_FLAGS}
    # short: Ray's unix socket paths live under it and are capped near 107 bytes
    temp_dir = Path(tempfile.mkdtemp(prefix="rayh-", dir="/tmp"))
    token = secrets.token_hex(16)
    env = os.environ | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token,
                        "RAY_USAGE_STATS_ENABLED": "0"}  # fmt: skip
    env.pop("RAY_ADDRESS", None)
    ray = str(Path(sys.executable).with_name("ray"))
    argv = [ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
            "--dashboard-host", "127.0.0.1", "--include-dashboard", "true",
            f"--num-cpus={num_cpus}", f"--temp-dir={temp_dir}", "--disable-usage-stats"]  # fmt: skip
    argv += [f"{flag}={port}" for flag, port in ports.items()]
    log = open(temp_dir / "ray-start.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    head = RayHead(f"http://127.0.0.1:{ports['--dashboard-port']}", token, temp_dir)
    try:
        _wait_for_job_server(head, proc, start_timeout_s)
        yield head
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_job_server(head: RayHead, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    auth = {"authorization": f"Bearer {head.token}"}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (head.temp_dir / "ray-start.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"ray start exited with {proc.returncode}:\n{log}")
        try:
            if httpx.get(f"{head.address}/api/jobs/", headers=auth, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1.0)
    raise RuntimeError(f"the job server at {head.address} did not answer in {timeout_s:g} s")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM makes ``ray start --block`` drain and stop the node's processes; if it hangs,
    its own process group (started with a new session: only this head's) is killed."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
