"""Route dependencies: the replica's ``Services``."""

from __future__ import annotations

from fastapi import Request

from actors.services import Services


async def services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hand-off
    # on every request for what is one attribute read
    return request.app.state.services
