"""HAProxy's stats page, Prometheus exporter and admin socket stay on this host: Ray's own
config template, rendered, then passed through the wrapper Serve is pointed at."""

import os
import re
import subprocess

import pytest

from deployments.launch import HAPROXY_WRAPPER

haproxy = pytest.importorskip("ray.serve._private.haproxy")


def rendered(tmp_path):
    """The config Serve's own code writes (``HAProxyApi``), with files under ``tmp_path``."""
    cfg = haproxy.HAProxyConfig(
        socket_path=str(tmp_path / "admin.sock"),
        server_state_base=str(tmp_path),
        server_state_file=str(tmp_path / "server-state"),
        metrics_socket_path=str(tmp_path / "metrics.sock"),
    )
    path = tmp_path / "haproxy.cfg"
    api = haproxy.HAProxyApi(cfg=cfg, config_file_path=str(path))
    api._generate_config_file_internal()
    return path


def run_wrapper(tmp_path, cfg, **env):
    fake = tmp_path / "real-haproxy"
    fake.write_text('#!/bin/sh\necho "ran with $*"\n')
    fake.chmod(0o755)
    env = {**os.environ, "HAPROXY_LOOPBACK_REAL_BINARY": str(fake), **env}
    args = [str(HAPROXY_WRAPPER), "-db", "-f", str(cfg), "-dR"]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True)


def binds(text):
    return re.findall(r"^\s*bind\s+(\S+)", text, flags=re.M)


def test_rays_template_binds_everywhere_and_the_wrapper_keeps_it_on_loopback(tmp_path):
    cfg = rendered(tmp_path)
    before = cfg.read_text()
    assert ":9101" in binds(before) and "*:8404" in binds(before), "Ray's template changed"
    assert "mode 666" in before
    out = run_wrapper(tmp_path, cfg)
    assert out.stdout.strip() == f"ran with -db -f {cfg} -dR", "the real binary, same args"
    after = cfg.read_text()
    assert [b for b in binds(after) if b.endswith((":8404", ":9101"))] == [
        "127.0.0.1:9101",
        "127.0.0.1:8404",
    ]
    assert not [b for b in binds(after) if b.startswith((":", "*:"))]
    assert re.search(r"stats socket \S+ mode 600 level admin", after)
    assert "mode 666" not in after
    run_wrapper(tmp_path, cfg)
    assert cfg.read_text() == after, "idempotent: a reload rewrites nothing more"


def test_the_admin_host_can_be_chosen(tmp_path):
    cfg = rendered(tmp_path)
    run_wrapper(tmp_path, cfg, LAKEHOUSE_HAPROXY_ADMIN_HOST="10.0.0.5")
    assert [b for b in binds(cfg.read_text()) if b.startswith("10.")] == [
        "10.0.0.5:9101",
        "10.0.0.5:8404",
    ]


def test_serve_environment_points_serve_at_the_wrapper(monkeypatch):
    from deployments.launch import serve_environment

    for key in ("RAY_SERVE_HAPROXY_BINARY_PATH", "HAPROXY_LOOPBACK_REAL_BINARY",
                "RAY_SERVE_ENABLE_HA_PROXY", "RAY_SERVE_THROUGHPUT_OPTIMIZED"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    serve_environment(True)
    assert os.environ["RAY_SERVE_HAPROXY_BINARY_PATH"] == str(HAPROXY_WRAPPER)
    assert os.access(os.environ["HAPROXY_LOOPBACK_REAL_BINARY"], os.X_OK)
