"""Call a core-backed object the same way whether it is local or a Ray actor.

``Facade(obj)`` runs the plain object's methods in a worker thread; ``Facade(handle)``
awaits the actor's methods. The web layer and the congruence tests use one API for both.

For a fan-out, ``submit`` starts a call without waiting and ``settle`` waits for many at
once under one deadline: every actor call is in flight before any is waited for, and one
``ray.wait`` in a worker thread collects them all (awaiting each reference on its own
wakes the event loop once per call, which costs about 0.1 ms of CPU each).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayError, RayTaskError

from lakehouse.errors import TemporarilyUnavailable


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

    def submit(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Start a call, for ``settle``: an ``ObjectRef`` (actor) or an asyncio future."""
        method = getattr(self.target, name)
        if self.remote:
            return method.remote(*args, **kwargs)
        return asyncio.ensure_future(asyncio.to_thread(method, *args, **kwargs))


class _Late:
    def __repr__(self) -> str:
        return "LATE"


LATE: Any = _Late()  # what ``settle`` gives for a call that missed its deadline
# Threads that sit in ``ray.wait`` for fan-outs: one per fan-out in flight, created on
# demand (a replica takes up to a few hundred requests at once; the default pool has 6).
_WAITERS = ThreadPoolExecutor(max_workers=256, thread_name_prefix="ray-wait")


async def settle(pending: Sequence[Any], timeout_s: float | None) -> list[Any]:
    """Wait once for calls started by ``Facade.submit``.

    Each call's result, its exception (the domain error, unwrapped from Ray's), or ``LATE``
    if it had not answered ``timeout_s`` seconds after this was called (None: no deadline).
    A late call is left to finish on its own.
    """
    if len(pending) == 1 and timeout_s is None and isinstance(pending[0], ray.ObjectRef):
        # one call and no deadline (a one-shard search): awaited on the loop directly, which
        # saves the waiter thread's hand-offs that only pay off for several calls at once
        try:
            return [await pending[0]]
        except RayError as exc:
            return [unwrap(exc)]
    refs = {i: p for i, p in enumerate(pending) if isinstance(p, ray.ObjectRef)}
    local = {i: p for i, p in enumerate(pending) if i not in refs}
    outcome: dict[int, Any] = {}

    async def remote() -> None:
        if refs:
            loop = asyncio.get_running_loop()
            outcome.update(await loop.run_in_executor(_WAITERS, _collect, refs, timeout_s))

    async def in_process() -> None:
        if local:
            await asyncio.wait(local.values(), timeout=timeout_s)
            for i, future in local.items():
                if future.done():
                    outcome[i] = future.exception() or future.result()

    await asyncio.gather(remote(), in_process())
    return [outcome.get(i, LATE) for i in range(len(pending))]


def _collect(refs: dict[int, ray.ObjectRef], timeout_s: float | None) -> dict[int, Any]:
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
    done = set(ready)
    out: dict[int, Any] = {}
    for i, ref in refs.items():
        if ref in done:
            try:
                out[i] = ray.get(ref)
            except RayError as exc:
                out[i] = unwrap(exc)
    return out


def unwrap(exc: BaseException) -> BaseException:
    """The domain error behind a Ray wrapper; a dead or restarting actor becomes a 503."""
    while isinstance(exc, RayTaskError) and exc.cause is not None:
        exc = exc.cause
    if isinstance(exc, ActorDiedError | ActorUnavailableError):
        return TemporarilyUnavailable("a backing actor is restarting; retry shortly")
    return exc
