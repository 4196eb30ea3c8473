"""App builders: ``serve run deployments.app:app`` (or ``deployments.app:build_app`` with args).

Decorators are applied here, at the edge; ``LakehouseIngress`` itself is a plain class.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ray import serve
from ray.serve import Application

from deployments.ingress import LakehouseIngress
from lakehouse.errors import InvalidInput
from lakehouse.settings import Settings, is_loopback


class AutoscalingArgs(BaseModel):
    """Serve autoscaling of the ingress: replicas follow the requests in flight per replica."""

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(default=1, ge=1, le=64)
    max_replicas: int = Field(default=4, ge=1, le=64)
    target_ongoing_requests: float = Field(default=32, gt=0, le=100_000)
    upscale_delay_s: float = Field(default=10, ge=0, le=3600)
    downscale_delay_s: float = Field(default=120, ge=0, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingArgs:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be at least min_replicas")
        return self


class LakehouseAppArgs(BaseModel):
    """Typed args of the app; ``settings`` overrides ``LAKEHOUSE_*`` values. ``autoscaling``
    and ``num_replicas`` exclude each other (neither: ``LAKEHOUSE_REPLICAS`` fixed replicas)."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(default_factory=dict)
    num_replicas: int | None = Field(default=None, ge=1, le=64)
    autoscaling: AutoscalingArgs | None = None
    max_ongoing_requests: int | None = Field(default=None, ge=1, le=100_000)
    replica_cpus: float = Field(default=0.5, ge=0, le=64)

    @model_validator(mode="after")
    def _one_scaling(self) -> LakehouseAppArgs:
        if self.num_replicas is not None and self.autoscaling is not None:
            raise ValueError("set num_replicas or autoscaling, not both")
        return self

    def scaling(self, settings: Settings) -> dict[str, Any]:
        """The deployment's replica options."""
        if self.autoscaling is not None:
            return {"autoscaling_config": self.autoscaling.model_dump()}
        return {"num_replicas": self.num_replicas or settings.replicas}


def build_app(args: LakehouseAppArgs | dict[str, Any] | None = None) -> Application:
    """The Lakehouse Serve application, configured from ``args`` and the environment."""
    args = LakehouseAppArgs.model_validate(args or {})
    settings = Settings(**args.settings)
    check_bind(settings)
    deployment = serve.deployment(
        name="LakehouseIngress",
        **args.scaling(settings),
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
