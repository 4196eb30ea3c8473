"""Call a core-backed object the same way whether it is local or a Ray actor.

``Facade(obj)`` runs the plain object's methods in a worker thread; ``Facade(handle)``
awaits the actor's methods. The web layer and the congruence tests use one API for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayTaskError

from lakehouse.errors import Unavailable


class Facade:
    """Async method calls onto a plain object or an actor handle."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.remote = isinstance(target, ActorHandle)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self.target, name)
        if self.remote:

            async def call_remote(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await method.remote(*args, **kwargs)
                except (RayTaskError, ActorDiedError, ActorUnavailableError) as exc:
                    raise unwrap(exc) from None

            return call_remote

        async def call_local(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call_local

    def call_sync(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Blocking call, for drivers and tests outside an event loop."""
        method = getattr(self.target, name)
        if not self.remote:
            return method(*args, **kwargs)
        try:
            return ray.get(method.remote(*args, **kwargs))
        except (RayTaskError, ActorDiedError, ActorUnavailableError) as exc:
            raise unwrap(exc) from None


def unwrap(exc: BaseException) -> BaseException:
    """The domain error behind a Ray wrapper; a dead or restarting actor becomes a 503."""
    while isinstance(exc, RayTaskError) and exc.cause is not None:
        exc = exc.cause
    if isinstance(exc, ActorDiedError | ActorUnavailableError):
        return Unavailable("a backing actor is restarting; retry shortly")
    return exc
