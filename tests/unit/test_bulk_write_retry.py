"""The bulk job's writes wait out a restarting shard (its node lost) instead of failing."""

from __future__ import annotations

import asyncio

import pytest

from actors.jobs import bulk_embed
from lakehouse.errors import InvalidInput, Unavailable


def user() -> bulk_embed._RouterUser:
    """A router user without a router: only its retrying ``run`` is under test."""
    plain = object.__new__(bulk_embed._RouterUser)
    plain.loop = asyncio.new_event_loop()
    return plain


def test_a_call_is_retried_while_its_actor_restarts(monkeypatch):
    monkeypatch.setattr(bulk_embed.tenacity, "wait_exponential", lambda **_: lambda _: 0)
    attempts = []

    async def add() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise Unavailable("a backing actor is restarting; retry shortly")
        return 100

    assert user().run(add) == 100
    assert len(attempts) == 3


def test_other_errors_are_not_retried():
    attempts = []

    async def add() -> int:
        attempts.append(1)
        raise InvalidInput("bad vectors")

    with pytest.raises(InvalidInput):
        user().run(add)
    assert len(attempts) == 1


def test_past_the_wait_the_last_error_is_raised(monkeypatch):
    monkeypatch.setattr(bulk_embed, "RESTART_WAIT_S", 0.0)

    async def add() -> int:
        raise Unavailable("still restarting")

    with pytest.raises(Unavailable):
        user().run(add)
