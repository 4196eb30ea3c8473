"""Ray actors: each owns one core object, restores it in ``__init__`` and exposes its methods."""

from __future__ import annotations

from typing import Any

NAMESPACE = "lakehouse"


def stateful_actor(
    cls: type,
    name: str,
    *args: Any,
    max_concurrency: int = 1,
    env: dict[str, str] | None = None,
    placement: dict[str, Any] | None = None,
) -> Any:
    """Get the named actor, creating it on first use (safe to call from many replicas).

    Every state owner is named in ``lakehouse``, detached (it outlives the app that made it),
    restarted by Ray whenever it dies (``max_restarts=-1``; ``__init__`` restores the state
    from the store), takes no CPU slot, and retries idempotent calls across a restart.
    ``max_concurrency`` > 1 makes it threaded; the core object then does its own locking.
    ``env`` sets environment variables of the actor's process; ``placement`` adds Ray
    scheduling options (``resources``, ``scheduling_strategy``).
    """
    import ray

    return (
        ray.remote(cls)
        .options(
            name=name,
            namespace=NAMESPACE,
            get_if_exists=True,
            lifetime="detached",
            max_restarts=-1,
            max_task_retries=3,
            num_cpus=0,
            max_concurrency=max_concurrency,
            **({"runtime_env": {"env_vars": env}} if env else {}),
            **(placement or {}),
        )
        .remote(*args)
    )
