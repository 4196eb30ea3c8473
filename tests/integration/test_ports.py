"""What the running service listens on: HAProxy's stats page and exporter on loopback only,
its admin socket not world-writable (README, "Ports")."""

import os
import stat
from pathlib import Path

import pytest


def listeners() -> dict[int, set[str]]:
    """``{port: {local address}}`` of every listening TCP socket on this machine (IPv4)."""
    found: dict[int, set[str]] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":  # LISTEN
            host_hex, port_hex = local.split(":")
            host = ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
            found.setdefault(int(port_hex, 16), set()).add(host)
    return found


def test_haproxy_stats_and_metrics_listen_on_loopback_only(http):
    assert http.get("/health").status_code == 200
    if os.environ.get("RAY_SERVE_ENABLE_HA_PROXY") != "1":
        pytest.skip("Serve's own proxy opens neither")
    ports = listeners()
    for name in ("RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT"):
        assert ports.get(int(os.environ[name])) == {"127.0.0.1"}, name


def test_the_admin_socket_is_not_world_writable(http):
    if os.environ.get("RAY_SERVE_ENABLE_HA_PROXY") != "1":
        pytest.skip("no HAProxy")
    sockets = list(Path("/tmp/haproxy-serve").glob("*/admin.sock"))
    assert sockets
    newest = max(sockets, key=lambda p: p.stat().st_mtime)
    assert stat.S_IMODE(newest.stat().st_mode) & 0o077 == 0
