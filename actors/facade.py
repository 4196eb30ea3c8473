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
                return await method.remote(*args, **kwargs)

            return call_remote

        async def call_local(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call_local

    def call_sync(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Blocking call, for drivers and tests outside an event loop."""
        method = getattr(self.target, name)
        return ray.get(method.remote(*args, **kwargs)) if self.remote else method(*args, **kwargs)
