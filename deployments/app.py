"""App builders: ``serve run deployments.app:app`` (or ``deployments.app:build_app`` with args).

Decorators are applied here, at the edge; ``LakehouseIngress`` itself is a plain class.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from ray import serve
from ray.serve import Application

from deployments.ingress import LakehouseIngress
from lakehouse.errors import InvalidInput
from lakehouse.settings import Settings, is_loopback


class LakehouseAppArgs(BaseModel):
    """Typed args of the app; ``settings`` overrides ``LAKEHOUSE_*`` values."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(default_factory=dict)
    num_replicas: int | None = Field(default=None, ge=1, le=64)
    max_ongoing_requests: int | None = Field(default=None, ge=1, le=100_000)
    replica_cpus: float = Field(default=0.5, ge=0, le=64)


def build_app(args: LakehouseAppArgs | dict[str, Any] | None = None) -> Application:
    """The Lakehouse Serve application, configured from ``args`` and the environment."""
    args = LakehouseAppArgs.model_validate(args or {})
    settings = Settings(**args.settings)
    check_bind(settings)
    deployment = serve.deployment(
        name="LakehouseIngress",
        num_replicas=args.num_replicas or settings.replicas,
        max_ongoing_requests=args.max_ongoing_requests or settings.max_ongoing_requests,
        ray_actor_options={"num_cpus": args.replica_cpus},
    )(serve.ingress()(LakehouseIngress))
    return deployment.bind(settings)


def check_bind(settings: Settings) -> None:
    """Refuse a non-loopback bind address when no bearer token is configured."""
    if not is_loopback(settings.host) and not settings.tokens:
        raise InvalidInput(
            f"refusing to serve on {settings.host} without a token: set LAKEHOUSE_AUTH_TOKENS"
        )


app = build_app()
